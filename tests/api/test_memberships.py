"""Joining an organization: a provider who names one only asks; that organization's admin accepts
(or declines), and until then the provider belongs to none and the admin sees none of their profile."""
from __future__ import annotations

from sqlmodel import select

from dispatch.catalog import Role
from models.audit import AuditLog
from models.providers import Membership, Provider
from tests import factories as f

PROFILE = {"name": "刘师傅", "services": ["meal", "cleaning"], "base_lat": 25.79, "base_lon": 113.01,
           "service_radius_km": 5}


def _world(session):
    c = f.first_community(session)
    admin_a, admin_b = f.user(session, Role.ORG_ADMIN), f.user(session, Role.ORG_ADMIN)
    org_a, org_b = f.organization(session, admin_a, c), f.organization(session, admin_b, c)
    providers = [f.user(session, Role.PROVIDER) for _ in range(2)]
    staff = f.user(session, Role.CENTER_STAFF, communities=(c,))
    h = {"a": f.bearer(session, admin_a), "b": f.bearer(session, admin_b), "staff": f.bearer(session, staff),
         "p1": f.bearer(session, providers[0]), "p2": f.bearer(session, providers[1])}
    session.commit()
    return org_a.id, org_b.id, h


def test_naming_an_organization_asks_and_its_admin_accepts(client, session, fresh):
    org_a, org_b, h = _world(session)
    r = client.post("/api/v1/providers", json={**PROFILE, "organization_id": org_a}, headers=h["p1"])
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    pid = body["id"]
    assert body["organization_id"] is None and body["pending_organization_id"] == org_a
    # Until accepted: no organization, and the admin sees no profile.
    assert client.get(f"/api/v1/providers/{pid}", headers=h["a"]).status_code == 404
    assert client.get("/api/v1/providers", headers=h["a"]).get_json() == []
    pending = client.get(f"/api/v1/organizations/{org_a}/members?status=pending", headers=h["a"])
    assert pending.status_code == 200
    assert [(m["provider_id"], m["status"], m["name"]) for m in pending.get_json()] == [(pid, "pending", "刘师傅")]
    assert client.get(f"/api/v1/organizations/{org_a}/members", headers=h["a"]).get_json() == pending.get_json()
    # Another organization's admin cannot see or accept it; staff see it but do not decide; the provider neither.
    assert client.get(f"/api/v1/organizations/{org_a}/members", headers=h["b"]).status_code == 404
    assert client.post(f"/api/v1/organizations/{org_a}/members/{pid}/accept", headers=h["b"]).status_code == 404
    assert client.post(f"/api/v1/organizations/{org_b}/members/{pid}/accept", headers=h["b"]).status_code == 404
    assert client.get(f"/api/v1/organizations/{org_a}/members", headers=h["staff"]).status_code == 200
    assert client.post(f"/api/v1/organizations/{org_a}/members/{pid}/accept", headers=h["staff"]).status_code == 403
    assert client.post(f"/api/v1/organizations/{org_a}/members/{pid}/accept", headers=h["p1"]).status_code == 404
    with fresh() as s:
        assert s.get(Provider, pid).organization_id is None
    # The admin accepts: now a member, once.
    r = client.post(f"/api/v1/organizations/{org_a}/members/{pid}/accept", headers=h["a"])
    assert r.status_code == 200 and r.get_json()["status"] == "accepted"
    again = client.post(f"/api/v1/organizations/{org_a}/members/{pid}/accept", headers=h["a"])
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "invalid_transition"
    with fresh() as s:
        assert s.get(Provider, pid).organization_id == org_a
        assert s.exec(select(AuditLog).where(AuditLog.action == "membership.accepted")).one().object_id == pid
    assert client.get(f"/api/v1/providers/{pid}", headers=h["a"]).get_json()["organization_id"] == org_a
    assert client.get(f"/api/v1/organizations/{org_a}/members?status=pending", headers=h["a"]).get_json() == []
    members = client.get(f"/api/v1/organizations/{org_a}/members?status=accepted", headers=h["a"]).get_json()
    assert [(m["provider_id"], m["status"]) for m in members] == [(pid, "accepted")]


def test_the_admin_declines_and_the_provider_stays_without_organization(client, session, fresh):
    org_a, _org_b, h = _world(session)
    pid = client.post("/api/v1/providers", json={**PROFILE, "organization_id": org_a}, headers=h["p2"]).get_json()["id"]
    r = client.post(f"/api/v1/organizations/{org_a}/members/{pid}/decline", headers=h["a"])
    assert r.status_code == 200 and r.get_json()["status"] == "declined"
    assert client.post(f"/api/v1/organizations/{org_a}/members/{pid}/accept", headers=h["a"]).status_code == 409
    with fresh() as s:
        assert s.get(Provider, pid).organization_id is None
        assert s.exec(select(Membership.status).where(Membership.provider_id == pid)).one() == "declined"
    declined = client.get(f"/api/v1/organizations/{org_a}/members?status=declined", headers=h["a"]).get_json()
    assert [m["provider_id"] for m in declined] == [pid]
    assert client.get(f"/api/v1/organizations/{org_a}/members?status=wizard", headers=h["a"]).status_code == 422


def test_a_profile_without_an_organization_asks_nothing(client, session, fresh):
    _org_a, _org_b, h = _world(session)
    r = client.post("/api/v1/providers", json=PROFILE, headers=h["p1"])
    assert r.status_code == 201 and r.get_json()["pending_organization_id"] is None
    with fresh() as s:
        assert s.exec(select(Membership)).all() == []
