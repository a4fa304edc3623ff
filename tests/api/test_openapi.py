"""The OpenAPI document: 3.x, generated from the schemas, and every routed /api/v1 path is in it."""
from __future__ import annotations

import re

import pytest


@pytest.fixture
def spec(client):
    r = client.get("/api/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    return r.get_json()


def test_it_is_openapi_3(spec):
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] and spec["info"]["version"]


def test_every_routed_api_operation_is_documented(app, spec):
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            routed |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops
                  if method in ("get", "post", "put", "patch", "delete")}
    assert routed, "no /api/v1 routes found"
    assert routed - documented == set()
    assert {p for p, _ in documented} - {p for p, _ in routed} == set()


@pytest.mark.parametrize("path, method", [("/api/v1/seniors", "post"), ("/api/v1/seniors/{senior_id}", "get"),
                                          ("/api/v1/providers/{provider_id}/suspend", "post"),
                                          ("/api/v1/auth/login", "post"), ("/api/v1/providers/me/duty", "post")])
def test_the_contract_paths_are_there(spec, path, method):
    assert method in spec["paths"][path]


@pytest.mark.parametrize("name, required", [
    ("SeniorCreate", {"name", "address", "birth_year"}), ("SeniorUpdate", set()),
    ("AssessmentCreate", {"items"}), ("FamilyLinkCreate", {"phone", "relation"}),
    ("OrganizationCreate", {"name", "kind", "license_no", "address", "lat", "lon"}),
    ("ProviderCreate", {"name", "services", "base_lat", "base_lon", "service_radius_km"}),
    ("RegisterRequest", {"phone", "password", "name", "role"}), ("StatusChange", {"reason"}),
    ("DutyUpdate", {"on_duty"}),
])
def test_request_schemas_are_components_with_their_required_fields(spec, name, required):
    schema = spec["components"]["schemas"][name]
    assert set(schema.get("required", [])) == required
    assert required <= set(schema["properties"])
    assert schema.get("additionalProperties") is False  # unknown fields are refused, and documented so


def test_every_422_is_documented_as_the_error_shape(spec):
    ref = {"$ref": "#/components/schemas/ErrorBody"}
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op["responses"]["422"]["content"]["application/json"]["schema"] == ref, (method, path)
    schemas = spec["components"]["schemas"]
    assert schemas["ErrorBody"]["required"] == ["error"] and "ValidationErrorModel" not in schemas
    info = schemas[schemas["ErrorBody"]["properties"]["error"]["$ref"].rsplit("/", 1)[-1]]
    assert set(info["properties"]) == {"code", "message", "details"} and set(info["required"]) == {"code", "message"}


def test_the_body_of_create_senior_refers_to_its_schema(spec):
    body = spec["paths"]["/api/v1/seniors"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/SeniorCreate"}
    lat = spec["components"]["schemas"]["SeniorCreate"]["properties"]["lat"]
    assert "-90" in str(lat) and "90" in str(lat)


def test_the_security_schemes_are_declared(spec):
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer"
    assert schemes["cookie"]["in"] == "cookie"


@pytest.mark.parametrize("path, method", [("/api/v1/me", "get"), ("/api/v1/auth/logout", "post"),
                                          ("/api/v1/users", "post"), ("/api/v1/seniors", "post"),
                                          ("/api/v1/providers/{provider_id}/verify", "post")])
def test_signed_in_operations_declare_the_bearer_scheme(spec, path, method):
    assert {"bearer": []} in spec["paths"][path][method]["security"]


@pytest.mark.parametrize("path, method", [("/api/v1/auth/login", "post"), ("/api/v1/auth/register", "post"),
                                          ("/api/v1/communities", "get"), ("/api/v1/service-types", "get")])
def test_public_operations_declare_no_security(client, spec, path, method):
    assert not spec["paths"][path][method].get("security")
    if method == "get":
        assert client.get(path.replace("{", "").replace("}", "")).status_code == 200
