"""Providers and organizations over HTTP: registration, verification, sanctions, duty."""
from __future__ import annotations

import pytest
from sqlmodel import func, select

from dispatch.catalog import ProviderStatus, Role
from models.providers import Organization, Provider
from tests import factories as f

ORG = {"name": "康乐居家养老服务中心", "kind": "company", "license_no": "91431000-ABC", "address": "郴州市北湖区人民路1号",
       "lat": 25.79, "lon": 113.01}
PROFILE = {"name": "刘师傅", "services": ["meal", "cleaning"], "base_lat": 25.79, "base_lon": 113.01,
           "service_radius_km": 5}


def error_code(r, status: int) -> str:
    assert r.status_code == status, r.get_json()
    assert set(r.get_json()) == {"error"} and r.get_json()["error"]["message"]
    return r.get_json()["error"]["code"]


def count(fresh, model) -> int:
    with fresh() as s:
        return s.exec(select(func.count()).select_from(model)).one()


def provider_row(fresh, provider_id: int) -> Provider:
    with fresh() as s:
        return s.get(Provider, provider_id)


def test_an_org_admin_registers_an_organization_pending_and_once(client, session, fresh):
    h = f.bearer(session, f.user(session, Role.ORG_ADMIN))
    session.commit()
    r = client.post("/api/v1/organizations", json=ORG, headers=h)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["status"] == "pending" and r.get_json()["license_no"] == ORG["license_no"]
    assert client.get(f"/api/v1/organizations/{r.get_json()['id']}", headers=h).status_code == 200
    dup = client.post("/api/v1/organizations", json={**ORG, "name": "另一家"}, headers=h)
    assert error_code(dup, 409) == "license_taken"
    assert count(fresh, Organization) == 1


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.SENIOR, Role.FAMILY, Role.CENTER_STAFF])
def test_only_org_admins_register_organizations(client, session, fresh, role):
    h = f.bearer(session, f.user(session, role, communities=(f.first_community(session),)
                                 if role == Role.CENTER_STAFF else ()))
    session.commit()
    error_code(client.post("/api/v1/organizations", json=ORG, headers=h), 403)
    assert count(fresh, Organization) == 0


def test_staff_verify_an_organization(client, session):
    a = f.first_community(session)
    oa = f.user(session, Role.ORG_ADMIN)
    h_oa = f.bearer(session, oa)
    h_staff = f.bearer(session, f.staff(session, a))
    session.commit()
    org = client.post("/api/v1/organizations", json={**ORG, "lat": a.lat, "lon": a.lon}, headers=h_oa).get_json()
    assert org["community_id"] == a.id
    r = client.post(f"/api/v1/organizations/{org['id']}/verify", headers=h_staff)
    assert r.status_code == 200 and r.get_json()["status"] == "verified"


@pytest.mark.parametrize("status, outcome", [(ProviderStatus.PENDING, 200), (ProviderStatus.SUSPENDED, 200),
                                             (ProviderStatus.VERIFIED, 409), (ProviderStatus.BLACKLISTED, 403)])
def test_only_a_pending_or_suspended_organization_is_verified(client, session, fresh, status, outcome):
    a = f.first_community(session)
    org = f.organization(session, f.user(session, Role.ORG_ADMIN), a)
    org.status = status
    h_staff = f.bearer(session, f.staff(session, a))
    session.commit()
    r = client.post(f"/api/v1/organizations/{org.id}/verify", headers=h_staff)
    if outcome == 409:
        assert error_code(r, 409) == "invalid_transition"
    elif outcome == 403:  # providers and organizations share one table: only an admin lifts a blacklisting
        assert error_code(r, 403) == "admin_only"
    else:
        assert r.status_code == 200 and r.get_json()["status"] == "verified"
    with fresh() as s:
        assert s.get(Organization, org.id).status == (ProviderStatus.VERIFIED if outcome == 200 else status)


def test_a_provider_registers_one_profile_pending(client, session, fresh):
    me = f.user(session, Role.PROVIDER)
    h = f.bearer(session, me)
    session.commit()
    r = client.post("/api/v1/providers", json={**PROFILE, "services": ["cleaning", "meal", "meal"]}, headers=h)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["status"] == "pending" and sorted(r.get_json()["services"]) == ["cleaning", "meal"]
    assert "user_id" not in r.get_json() and "duty_lat" not in r.get_json()
    with fresh() as s:
        assert s.get(Provider, r.get_json()["id"]).user_id == me.id
    assert error_code(client.post("/api/v1/providers", json=PROFILE, headers=h), 409) == "profile_exists"
    assert count(fresh, Provider) == 1


def test_a_provider_profile_names_a_known_organization(client, session, fresh):
    h = f.bearer(session, f.user(session, Role.PROVIDER))
    session.commit()
    r = client.post("/api/v1/providers", json={**PROFILE, "organization_id": 4242}, headers=h)
    assert error_code(r, 422) == "validation_error"
    assert r.get_json()["error"]["details"][0]["field"] == "organization_id"
    assert count(fresh, Provider) == 0


@pytest.mark.parametrize("change", [{"services": []}, {"services": ["massage"]}, {"service_radius_km": 0},
                                    {"service_radius_km": 51}, {"base_lat": 91}, {"certifications": [""]}])
def test_a_bad_profile_is_422(client, session, fresh, change):
    h = f.bearer(session, f.user(session, Role.PROVIDER))
    session.commit()
    error_code(client.post("/api/v1/providers", json={**PROFILE, **change}, headers=h), 422)
    assert count(fresh, Provider) == 0


@pytest.fixture
def pending(session):
    """A pending provider in the first community, with headers for them, its staff and an admin."""
    a = f.first_community(session)
    me = f.user(session, Role.PROVIDER)
    p = f.provider(session, a, owner=me, status=ProviderStatus.PENDING)
    headers = {"provider": f.bearer(session, me), "staff": f.bearer(session, f.staff(session, a)),
               "admin": f.bearer(session, f.user(session, Role.ADMIN))}
    session.commit()
    return p.id, headers


def test_no_duty_before_verification_then_a_coarse_position_on_duty(client, fresh, pending):
    pid, h = pending
    r = client.post("/api/v1/providers/me/duty", json={"on_duty": True}, headers=h["provider"])
    assert error_code(r, 409) == "provider_not_verified"
    assert provider_row(fresh, pid).on_duty is False
    r = client.post(f"/api/v1/providers/{pid}/verify", headers=h["staff"])
    assert r.status_code == 200 and r.get_json()["status"] == "verified"
    r = client.post("/api/v1/providers/me/duty", json={"on_duty": True, "lat": 25.7912345, "lon": 113.0123456},
                    headers=h["provider"])
    assert r.status_code == 200 and r.get_json()["on_duty"] is True
    assert "duty_lat" not in r.get_json()
    row = provider_row(fresh, pid)
    assert (row.on_duty, row.duty_lat, row.duty_lon) == (True, 25.791, 113.012)
    assert row.duty_updated_at is not None
    r = client.post("/api/v1/providers/me/duty", json={"on_duty": False, "lat": 25.7, "lon": 113.0},
                    headers=h["provider"])
    assert r.status_code == 200 and r.get_json()["on_duty"] is False
    row = provider_row(fresh, pid)
    assert (row.on_duty, row.duty_lat, row.duty_lon) == (False, None, None)


def test_duty_needs_a_profile_and_both_coordinates(client, session, fresh, pending):
    pid, h = pending
    stranger = f.bearer(session, f.user(session, Role.PROVIDER))
    session.commit()
    assert error_code(client.post("/api/v1/providers/me/duty", json={"on_duty": False}, headers=stranger),
                      409) == "no_provider_profile"
    client.post(f"/api/v1/providers/{pid}/verify", headers=h["staff"])
    r = client.post("/api/v1/providers/me/duty", json={"on_duty": True, "lat": 25.79}, headers=h["provider"])
    error_code(r, 422)
    assert provider_row(fresh, pid).on_duty is False
    error_code(client.post("/api/v1/providers/me/duty", json={"on_duty": True}, headers=h["staff"]), 403)


@pytest.mark.parametrize("action", ["suspend", "blacklist"])
@pytest.mark.parametrize("payload", [None, {}, {"reason": "x"}, {"reason": ""}, {"reason": "x" * 201}])
def test_sanctions_need_a_reason(client, fresh, pending, action, payload):
    pid, h = pending
    kwargs = {"json": payload} if payload is not None else {}
    error_code(client.post(f"/api/v1/providers/{pid}/{action}", headers=h["staff"], **kwargs), 422)
    assert provider_row(fresh, pid).status == ProviderStatus.PENDING


@pytest.mark.parametrize("action, status", [("suspend", "suspended"), ("blacklist", "blacklisted")])
def test_a_sanction_takes_the_provider_off_duty(client, fresh, pending, action, status):
    pid, h = pending
    client.post(f"/api/v1/providers/{pid}/verify", headers=h["staff"])
    assert client.post("/api/v1/providers/me/duty", json={"on_duty": True, "lat": 25.79, "lon": 113.01},
                       headers=h["provider"]).status_code == 200
    r = client.post(f"/api/v1/providers/{pid}/{action}", json={"reason": "多次迟到 / late again"}, headers=h["staff"])
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["status"], r.get_json()["status_reason"]) == (status, "多次迟到 / late again")
    row = provider_row(fresh, pid)
    assert (row.status, row.on_duty, row.duty_lat, row.duty_lon) == (status, False, None, None)
    back = client.post("/api/v1/providers/me/duty", json={"on_duty": True}, headers=h["provider"])
    assert error_code(back, 409) == "provider_not_verified"


def test_only_an_admin_lifts_a_blacklisting(client, fresh, pending):
    pid, h = pending
    assert client.post(f"/api/v1/providers/{pid}/blacklist", json={"reason": "虐待老人"},
                       headers=h["staff"]).status_code == 200
    assert error_code(client.post(f"/api/v1/providers/{pid}/verify", headers=h["staff"]), 403) == "admin_only"
    assert provider_row(fresh, pid).status == ProviderStatus.BLACKLISTED
    r = client.post(f"/api/v1/providers/{pid}/verify", headers=h["admin"])
    assert r.status_code == 200 and r.get_json()["status"] == "verified"


def test_a_suspension_is_lifted_by_verifying_again(client, fresh, pending):
    pid, h = pending
    client.post(f"/api/v1/providers/{pid}/verify", headers=h["staff"])
    client.post(f"/api/v1/providers/{pid}/suspend", json={"reason": "待查 / under review"}, headers=h["staff"])
    r = client.post(f"/api/v1/providers/{pid}/verify", headers=h["staff"])
    assert r.status_code == 200 and r.get_json()["status"] == "verified" and r.get_json()["status_reason"] is None


@pytest.mark.parametrize("first, again", [("verify", "verify"), ("suspend", "suspend"), ("blacklist", "blacklist"),
                                          ("blacklist", "suspend")])
def test_an_illegal_transition_is_409(client, fresh, pending, first, again):
    pid, h = pending
    reason = {"reason": "理由充分 / good reason"}
    assert client.post(f"/api/v1/providers/{pid}/{first}", json=None if first == "verify" else reason,
                       headers=h["admin"]).status_code == 200
    before = provider_row(fresh, pid).model_dump()
    r = client.post(f"/api/v1/providers/{pid}/{again}", json=None if again == "verify" else reason, headers=h["admin"])
    assert error_code(r, 409) == "invalid_transition"
    assert provider_row(fresh, pid).model_dump() == before


def test_the_provider_list_filters_by_status(client, session, pending):
    pid, h = pending
    a = f.first_community(session)
    verified = f.provider(session, a)
    session.commit()
    rows = client.get("/api/v1/providers?status=verified", headers=h["staff"]).get_json()
    assert [p["id"] for p in rows] == [verified.id]
    rows = client.get("/api/v1/providers", headers=h["staff"]).get_json()
    assert sorted(p["id"] for p in rows) == sorted([pid, verified.id])
    error_code(client.get("/api/v1/providers?status=retired", headers=h["staff"]), 422)
