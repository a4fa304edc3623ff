"""Every failure in the contract's error shape, the security headers, and a fuzz that never finds a 5xx."""
from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlmodel import func, select

from dispatch.catalog import ProviderStatus, Role
from models.engine import make_engine
from models.seniors import Senior
from tests import factories as f
from tests.conftest import test_settings as make_settings

SENIOR = {"name": "王秀兰", "address": "郴州市北湖区向阳社区1栋", "birth_year": 1940}


def assert_error(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, (r.status_code, r.data[:300])
    assert r.mimetype == "application/json"
    body = r.get_json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message"} <= set(error) <= {"code", "message", "details"}
    assert re.fullmatch(r"[a-z][a-z0-9_]*", error["code"]) and isinstance(error["message"], str) and error["message"]
    if code:
        assert error["code"] == code
    return error


def fields(error: dict) -> list[str]:
    return [d["field"] for d in error.get("details") or []]


@pytest.fixture
def family(session):
    h = f.bearer(session, f.user(session, Role.FAMILY))
    session.commit()
    return h


def test_a_body_over_64_kib_is_413(client, family):
    r = client.post("/api/v1/seniors", json={**SENIOR, "name": "x" * (65 * 1024)}, headers=family)
    assert_error(r, 413, "too_large")
    assert_error(client.post("/api/v1/auth/login", data=b"{" * (70 * 1024), content_type="application/json"), 413)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_body_that_is_not_json_is_415(client, family, content_type):
    r = client.post("/api/v1/seniors", data=json.dumps(SENIOR), content_type=content_type, headers=family)
    assert_error(r, 415, "not_json")


@pytest.mark.parametrize("raw", [b"{", b"{'name': 1}", b"\xff\xfe{}", b'{"a": 1,}', b"nul"])
def test_malformed_json_is_400(client, family, raw):
    r = client.post("/api/v1/seniors", data=raw, content_type="application/json", headers=family)
    assert_error(r, 400, "invalid_json")


@pytest.mark.parametrize("depth", [5_000, 30_000])
def test_json_nested_too_deep_is_400_not_a_crash(client, family, depth):
    r = client.post("/api/v1/seniors", data="[" * depth + "]" * depth, content_type="application/json",
                    headers=family)
    assert_error(r, 400, "invalid_json")


@pytest.mark.parametrize("change, field", [({"name": "王\x00秀兰"}, "name"), ({"address": "\x00"}, "address"),
                                           ({"emergency_contacts": [{"name": "a\x00", "phone": "13800138000"}]},
                                            "emergency_contacts.0.name")])
def test_a_nul_character_is_422_before_it_reaches_the_database(client, family, fresh, change, field):
    # PostgreSQL text cannot hold U+0000; the API refuses it on every backend alike.
    error = assert_error(client.post("/api/v1/seniors", json={**SENIOR, "lat": 25.79, "lon": 113.01, **change},
                                     headers=family), 422)
    assert fields(error) == [field]
    with fresh() as s:
        assert s.exec(select(func.count()).select_from(Senior)).one() == 0


def test_unknown_fields_are_422_and_named(client, family):
    error = assert_error(client.post("/api/v1/seniors", json={**SENIOR, "surprise": 1, "is_admin": True},
                                     headers=family), 422, "validation_error")
    assert sorted(fields(error)) == ["is_admin", "surprise"]


@pytest.mark.parametrize("position, field", [
    ({"lat": 90.5, "lon": 113.0}, "lat"), ({"lat": -91, "lon": 113.0}, "lat"),
    ({"lat": 25.0, "lon": 180.01}, "lon"), ({"lat": 25.0, "lon": -200}, "lon"),
])
def test_out_of_range_coordinates_are_422(client, family, position, field):
    error = assert_error(client.post("/api/v1/seniors", json={**SENIOR, **position}, headers=family), 422)
    assert fields(error) == [field]


@pytest.mark.parametrize("phone", ["12345", "23800138000", "1380013800", "138001380001", "+1 415 555 0100",
                                   "phone"])
def test_a_malformed_phone_is_422(client, phone):
    r = client.post("/api/v1/auth/register", json={"phone": phone, "password": "secret-pass", "name": "张三",
                                                    "role": "family"})
    assert fields(assert_error(r, 422)) == ["phone"]


@pytest.mark.parametrize("change, field", [({"birth_year": "nineteen forty"}, "birth_year"), ({"name": 42}, "name"),
                                           ({"living_alone": "maybe"}, "living_alone"),
                                           ({"emergency_contacts": {"name": "x"}}, "emergency_contacts"),
                                           ({"lat": "north", "lon": 113.0}, "lat")])
def test_wrong_types_are_422(client, family, change, field):
    error = assert_error(client.post("/api/v1/seniors", json={**SENIOR, **change}, headers=family), 422)
    assert field in fields(error)


@pytest.mark.parametrize("body", [[], "text", 3, None])
def test_a_body_that_is_not_an_object_is_422(client, family, body):
    r = client.post("/api/v1/seniors", data=json.dumps(body), content_type="application/json", headers=family)
    assert_error(r, 422)


HUGE = 2**70


@pytest.mark.parametrize("method, path, body", [
    ("GET", f"/api/v1/seniors/{HUGE}", None),
    ("GET", f"/api/v1/requests/{HUGE}", None),
    ("GET", f"/api/v1/requests?senior_id={HUGE}", None),
    ("GET", f"/api/v1/requests?offset={HUGE}", None),
    ("POST", f"/api/v1/requests/{HUGE}/cancel", {}),
    ("POST", f"/api/v1/requests/{HUGE}/progress", {"status": "en_route"}),
    ("POST", f"/api/v1/requests/{HUGE}/rating", {"stars": 5}),
    ("POST", f"/api/v1/offers/{HUGE}/accept", None),
    ("POST", f"/api/v1/offers/{HUGE}/decline", None),
    ("POST", "/api/v1/requests", {"senior_id": HUGE, "service_type": "meal"}),
    ("GET", f"/api/v1/center/requests?offset={HUGE}", None),
    ("POST", f"/api/v1/center/requests/{HUGE}/assign", {"provider_id": 1}),
    ("POST", "/api/v1/center/requests/1/assign", {"provider_id": HUGE}),
    ("POST", f"/api/v1/sos/{HUGE}/ack", None),
    ("POST", f"/api/v1/sos/{HUGE}/resolve", {"note": "ok"}),
    ("POST", "/api/v1/sos", {"senior_id": HUGE}),
])
def test_an_id_too_large_for_the_database_is_a_clean_4xx(client, family, method, path, body):
    r = client.open(path, method=method, json=body, headers=family)
    assert r.status_code in (404, 422)
    assert_error(r, r.status_code)


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_an_unknown_api_route_is_a_json_404(client, family, method):
    for path in ("/api/v1/no-such-thing", "/api/v2/seniors", "/api/v1/seniors/abc", "/api/nope"):
        assert_error(client.open(path, method=method, json={}, headers=family), 404, "not_found")


def test_a_wrong_method_is_a_json_405(client, family):
    assert_error(client.delete("/api/v1/seniors", headers=family), 405, "method_not_allowed")
    assert_error(client.put("/api/v1/me", headers=family), 405, "method_not_allowed")


def test_no_token_is_401(client):
    assert_error(client.get("/api/v1/me"), 401, "not_authenticated")
    assert_error(client.get("/api/v1/seniors"), 401, "not_authenticated")
    assert_error(client.post("/api/v1/seniors", json=SENIOR), 401, "not_authenticated")


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer " + "a" * 43])
def test_a_bad_token_is_401(client, header):
    assert_error(client.get("/api/v1/me", headers={"Authorization": header}), 401, "not_authenticated")


@pytest.mark.parametrize("kind", ["expired", "revoked", "inactive"])
def test_an_expired_revoked_or_deactivated_sign_in_is_401(client, session, kind):
    u = f.user(session, Role.FAMILY)
    h = f.bearer(session, u, days=-1 if kind == "expired" else 1, revoked=kind == "revoked")
    if kind == "inactive":
        u.is_active = False
        session.add(u)
    session.commit()
    assert_error(client.get("/api/v1/me", headers=h), 401, "not_authenticated")


def test_a_bad_cookie_is_401(client):
    client.set_cookie("linli_session", "forged-value")
    assert_error(client.get("/api/v1/me"), 401, "not_authenticated")


# ---- security headers ------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/communities", "/api/v1/me", "/api/v1/no-such-thing", "/", "/healthz",
                                  "/some/client/route", "/api/openapi.json"])
def test_security_headers_on_api_and_page_responses(client, path):
    r = client.get(path)
    csp = r.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert r.headers.get("X-Content-Type-Options") == "nosniff"
    assert r.headers.get("Referrer-Policy") in ("no-referrer", "strict-origin-when-cross-origin", "same-origin")
    if path.startswith("/api/v1"):
        assert r.headers.get("Cache-Control") == "no-store"


def test_pages_serve_the_app_shell_and_healthz_answers(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    r = client.get("/some/client/route")
    assert r.status_code == 200 and r.mimetype == "text/html"


# ---- fuzz ------------------------------------------------------------------------------------

def _write_routes() -> tuple[list[tuple[str, str]], dict]:
    """Every (method, rule) the app routes under /api/v1 that takes a body, and the OpenAPI document."""
    from server import create_app

    tmp = Path(tempfile.mkdtemp(prefix="linli-routes-"))
    app = create_app(make_settings(tmp), engine=make_engine("sqlite://"))
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            for method in rule.methods & {"POST", "PUT", "PATCH", "DELETE"}:
                found.add((method, rule.rule))
    return sorted(found), app.test_client().get("/api/openapi.json").get_json()


WRITE_ROUTES, SPEC = _write_routes()

# Ids written other ways, numbers past every column, and times at the ends of datetime's range.
AWKWARD = ["1", "13", 1.0, 13.0, 1.5, -1, 0, 2**31, 2**63, 2**64, -2**63, 1e308, "1e3", " 1",
           "0001-01-01T00:00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "9999-12-31T23:59:59",
           "9999-12-31", "0001-01-01", "2025-02-30T10:00:00", "2025-03-03T25:00:00", "2025-03-03T10:00:00+24:00", "now",
           "en_route", "in_service", "completed", "cancelled"]
leaves = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
          | st.text(max_size=30) | st.sampled_from(["13800138000", "meal", "verified", "2025-03-03T10:00:00+08:00",
                                                    "郴州市北湖区向阳社区", ""]) | st.sampled_from(AWKWARD))
json_values = st.recursive(leaves, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=12)


def _field_names(spec: dict, method: str, path: str) -> list[str]:
    operation = spec["paths"].get(path, {}).get(method.lower(), {})
    ref = (operation.get("requestBody", {}).get("content", {}).get("application/json", {})
           .get("schema", {}).get("$ref", ""))
    schemas = spec["components"]["schemas"]
    schema = schemas.get(ref.rsplit("/", 1)[-1], {})
    variants = [schemas[v["$ref"].rsplit("/", 1)[-1]] for v in schema.get("oneOf", []) if "$ref" in v]
    return sorted({name for each in [schema, *variants] for name in each.get("properties", {})})


def _role_for(path: str) -> Role:
    if path.startswith(("/api/v1/providers/me", "/api/v1/offers")) or path == "/api/v1/providers" or \
            path.endswith("/progress"):
        return Role.PROVIDER
    if path == "/api/v1/organizations":
        return Role.ORG_ADMIN
    return Role.ADMIN


@pytest.fixture
def fuzz_world(session):
    """A senior, a verified provider with its organization, and users of each role to sign in as."""
    a = f.first_community(session)
    users = {role: f.user(session, role) for role in Role}
    senior = f.senior(session, a)
    org = f.organization(session, users[Role.ORG_ADMIN], a)
    provider = f.provider(session, a, owner=users[Role.PROVIDER], organization=org, status=ProviderStatus.VERIFIED)
    session.commit()
    return {"ids": {"senior_id": senior.id, "provider_id": provider.id, "organization_id": org.id}, "users": users}


@pytest.mark.parametrize("method, rule", [pytest.param(m, r, id=f"{m} {r}") for m, r in WRITE_ROUTES])
def test_random_json_bodies_never_yield_a_5xx(client, session, fuzz_world, method, rule):
    spec = client.get("/api/openapi.json").get_json()
    doc_path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)
    url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(fuzz_world["ids"].get(m.group(1), 1)), rule)
    names = _field_names(spec, method, doc_path)
    keys = st.sampled_from(names) | st.text(max_size=8) if names else st.text(max_size=8)
    bodies = json_values | st.dictionaries(keys, json_values, max_size=len(names) + 2)
    signer = fuzz_world["users"][_role_for(rule)]

    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(body=bodies)
    def run(body):
        headers = f.bearer(session, signer)  # fresh each time: logout revokes its token
        session.commit()
        r = client.open(url, method=method, data=json.dumps(body), content_type="application/json",
                        headers=headers)
        assert r.status_code < 500, (r.status_code, body, r.get_json())
        if r.status_code >= 400:
            assert_error(r, r.status_code)

    run()


def _awkward_fields(spec: dict, method: str, path: str) -> list[str]:
    """The body fields of an operation that hold ids or times (the kinds that once gave 500s)."""
    op = spec["paths"].get(path, {}).get(method.lower(), {})
    ref = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
    schemas = spec["components"]["schemas"]
    schema = schemas.get(ref.rsplit("/", 1)[-1], {})
    found = set()
    for each in [schema, *[schemas[v["$ref"].rsplit("/", 1)[-1]] for v in schema.get("oneOf", []) if "$ref" in v]]:
        for name, prop in each.get("properties", {}).items():
            if name.endswith(("_id", "_ids")) or "\"date" in json.dumps(prop) or name in ("status", "lat", "lon"):
                found.add(name)
    return sorted(found)


def _doc_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


@pytest.mark.parametrize("method, rule", [pytest.param(m, r, id=f"{m} {r}") for m, r in WRITE_ROUTES
                                          if _awkward_fields(SPEC, m, _doc_path(r))])
def test_ids_and_times_written_awkwardly_never_yield_a_5xx(client, session, fuzz_world, method, rule):
    url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(fuzz_world["ids"].get(m.group(1), 1)), rule)
    names = _awkward_fields(SPEC, method, _doc_path(rule))
    signer = fuzz_world["users"][_role_for(rule)]
    headers = f.bearer(session, signer)
    session.commit()
    for name in names:
        for value in AWKWARD + [[v] for v in AWKWARD[:8]]:
            body = {"senior_id": fuzz_world["ids"]["senior_id"], "service_type": "meal", "status": "in_service",
                    "lat": 25.8, "lon": 113.0, name: value}
            r = client.open(url, method=method, data=json.dumps(body), content_type="application/json",
                            headers=headers)
            assert r.status_code < 500, (name, value, r.status_code, r.get_json())
            if r.status_code >= 400:
                assert_error(r, r.status_code)
            if r.status_code == 401:  # a logout revoked the token: sign in again
                headers = f.bearer(session, signer)
                session.commit()
