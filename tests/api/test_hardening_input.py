"""Input hardening: ids are JSON integers everywhere, and client times out of range are 422, never 500."""
from __future__ import annotations

import pytest

from dispatch.catalog import ProviderStatus, Role
from tests import factories as f
from tests.api.test_errors import assert_error, fields

NOT_INTEGERS = ["13", 13.0, True, "13.0", " 13", [13], {"id": 13}]


@pytest.fixture
def world(session):
    """A senior booked for by their linked family, a verified provider, an admin, a community."""
    a = f.first_community(session)
    fam = f.user(session, Role.FAMILY)
    senior = f.senior(session, a)
    f.family_link(session, senior, fam)
    admin = f.user(session, Role.ADMIN)
    org_admin = f.user(session, Role.ORG_ADMIN)
    org = f.organization(session, org_admin, a)
    provider = f.provider(session, a, owner=f.user(session, Role.PROVIDER), status=ProviderStatus.VERIFIED)
    w = dict(family=f.bearer(session, fam), admin=f.bearer(session, admin),
             provider_user=f.bearer(session, f.user(session, Role.PROVIDER)),
             senior=senior.id, provider=provider.id, org=org.id, community=a.id)
    session.commit()
    return w


def _id_bodies(w):
    """(path, method, headers, body, field) for every JSON body that carries an id."""
    return [
        ("/api/v1/sos", "POST", w["family"], {"senior_id": w["senior"]}, "senior_id"),
        ("/api/v1/requests", "POST", w["family"], {"senior_id": w["senior"], "service_type": "meal"}, "senior_id"),
        ("/api/v1/center/requests/1/assign", "POST", w["admin"], {"provider_id": w["provider"]}, "provider_id"),
        ("/api/v1/seniors", "POST", w["admin"], {"name": "李四", "address": "郴州市北湖区向阳社区1栋",
                                                 "birth_year": 1940, "lat": 25.79, "lon": 113.03,
                                                 "community_id": w["community"]}, "community_id"),
        (f"/api/v1/seniors/{w['senior']}", "PATCH", w["admin"], {"community_id": w["community"]}, "community_id"),
        ("/api/v1/providers", "POST", w["provider_user"], {"name": "赵六", "services": ["meal"], "base_lat": 25.79,
                                                           "base_lon": 113.03, "service_radius_km": 5,
                                                           "organization_id": w["org"]}, "organization_id"),
        ("/api/v1/users", "POST", w["admin"], {"phone": "13812345678", "password": "Wq8#longer-pass", "name": "员工",
                                               "role": "center_staff", "community_ids": [w["community"]]},
         "community_ids.0"),
    ]


@pytest.mark.parametrize("bad", NOT_INTEGERS, ids=repr)
@pytest.mark.parametrize("case", range(7))
def test_an_id_in_a_json_body_must_be_a_json_integer(client, world, fresh, case, bad):
    path, method, headers, body, field = _id_bodies(world)[case]
    name = field.split(".")[0]
    value = [bad] if field.endswith(".0") else bad
    r = client.open(path, method=method, json={**body, name: value}, headers=headers)
    error = assert_error(r, 422)
    assert any(d.startswith(name) for d in fields(error)), error


def test_the_same_ids_as_integers_are_accepted(client, world):
    r = client.post("/api/v1/sos", json={"senior_id": world["senior"]}, headers=world["family"])
    assert r.status_code == 201, r.get_json()
    r = client.post("/api/v1/requests", json={"senior_id": world["senior"], "service_type": "meal"},
                    headers=world["family"])
    assert r.status_code == 201, r.get_json()


def test_ids_in_query_strings_are_still_read_from_text(client, world):
    assert client.get(f"/api/v1/requests?senior_id={world['senior']}", headers=world["family"]).status_code == 200
    assert client.get(f"/api/v1/seniors?community_id={world['community']}", headers=world["admin"]).status_code == 200
    assert_error(client.get("/api/v1/requests?senior_id=abc", headers=world["family"]), 422)


@pytest.mark.parametrize("start", [
    "0001-01-01T00:00:00",              # read as Asia/Shanghai: before year 1 in UTC
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-12:00",        # after year 9999 in UTC
    "9999-12-31T23:59:59",              # plus a duration: past datetime.max
    "9999-12-31T23:59:59+08:00",
    "1899-06-01T09:00:00+08:00",
    "2300-01-01T09:00:00+08:00",
])
def test_a_scheduled_start_out_of_range_is_422(client, world, fresh, start):
    r = client.post("/api/v1/requests", json={"senior_id": world["senior"], "service_type": "meal",
                                              "scheduled_start": start}, headers=world["family"])
    assert fields(assert_error(r, 422)) == ["scheduled_start"]


# ---- visit progress: the document says what the server does ---------------------------------------

def _variant(spec: dict, status: str) -> dict:
    """The schema the OpenAPI document gives a progress body with this status (via its discriminator)."""
    op = spec["paths"]["/api/v1/requests/{request_id}/progress"]["post"]
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert schema["discriminator"]["propertyName"] == "status"
    assert len(schema["oneOf"]) == len(schema["discriminator"]["mapping"]) == 3
    target = schema["discriminator"]["mapping"][status]
    assert {"$ref": target} in schema["oneOf"]
    return spec["components"]["schemas"][target.rsplit("/", 1)[-1]]


@pytest.mark.parametrize("status, needs_position", [("en_route", False), ("in_service", True), ("completed", True)])
def test_the_openapi_document_says_which_progress_steps_need_a_position(client, world, status, needs_position):
    spec = client.get("/api/openapi.json").get_json()
    variant = _variant(spec, status)
    assert variant["properties"]["status"]["const"] == status
    assert ({"lat", "lon"} <= set(variant["required"])) is needs_position
    assert variant["additionalProperties"] is False
    # ... and the server does that: without a position a check-in or check-out is 422 naming lat and
    # lon; with one (or on the way) the body passes and the request id decides (404: no such visit).
    r = client.post("/api/v1/requests/999999/progress", json={"status": status}, headers=world["provider_user"])
    if needs_position:
        assert fields(assert_error(r, 422, "validation_error")) == ["lat", "lon"]
    else:
        assert r.status_code == 404
    r = client.post("/api/v1/requests/999999/progress", json={"status": status, "lat": 25.8, "lon": 113.0},
                    headers=world["provider_user"])
    assert r.status_code == 404


@pytest.mark.parametrize("body", [{"status": "cancelled", "lat": 25.8, "lon": 113.0}, {"lat": 25.8}, {"status": 3}])
def test_a_progress_body_with_no_known_status_is_422_on_status(client, world, body):
    r = client.post("/api/v1/requests/1/progress", json=body, headers=world["provider_user"])
    error = assert_error(r, 422)
    assert fields(error) == ["status"]
    assert "en_route" in error["details"][0]["message"] or body.get("status") is None


def test_a_progress_body_refuses_unknown_fields_by_their_own_name(client, world):
    r = client.post("/api/v1/requests/1/progress", json={"status": "en_route", "speed": 3},
                    headers=world["provider_user"])
    assert fields(assert_error(r, 422)) == ["speed"]


# ---- dates of plans and check-ins -----------------------------------------------------------------

@pytest.fixture
def plan(client, world):
    from datetime import date, timedelta

    start = (date.today() + timedelta(days=14)).isoformat() + "T10:00:00"
    r = client.post("/api/v1/plans", json={"senior_id": world["senior"], "service_type": "meal",
                                           "rrule": "FREQ=WEEKLY;BYDAY=MO", "start": start},
                    headers=world["family"])
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1999-12-31", "2200-01-01"])
def test_plan_dates_out_of_range_are_422(client, world, plan, day):
    r = client.post(f"/api/v1/plans/{plan}/skip", json={"date": day}, headers=world["family"])
    assert fields(assert_error(r, 422)) == ["date"]
    r = client.patch(f"/api/v1/plans/{plan}", json={"effective_from": day}, headers=world["family"])
    assert fields(assert_error(r, 422)) == ["effective_from"]
    r = client.get(f"/api/v1/center/checkins?date={day}", headers=world["admin"])
    assert fields(assert_error(r, 422)) == ["date"]


def test_a_missing_field_is_named_even_when_another_field_holds_its_name(client, world):
    r = client.post("/api/v1/seniors", json={"address": "name", "birth_year": 1940}, headers=world["admin"])
    assert "name" in fields(assert_error(r, 422))
