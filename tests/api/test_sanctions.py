"""Sanctions with their date: a provider's status_changed_at, and the organization's record of its
suspended and blacklisted providers (GET /organizations/{id} sanctions)."""
from __future__ import annotations

from dispatch.catalog import ProviderStatus, Role
from tests import factories as f


def test_the_organization_record_lists_its_sanctioned_providers_with_reason_and_date(client, session):
    com = f.first_community(session)
    admin = f.user(session, Role.ORG_ADMIN)
    org = f.organization(session, admin, com)
    bad, lazy, good = (f.provider(session, com, organization=org) for _ in range(3))
    outsider = f.provider(session, com, status=ProviderStatus.BLACKLISTED, status_reason="别处")  # no organization
    ids = {"org": org.id, "bad": bad.id, "lazy": lazy.id, "good": good.id, "outsider": outsider.id}
    names = {"bad": bad.name, "lazy": lazy.name}
    h_staff, h_admin = f.bearer(session, f.staff(session, com)), f.bearer(session, admin)
    session.commit()
    assert client.get(f"/api/v1/organizations/{ids['org']}", headers=h_admin).get_json()["sanctions"] == []

    susp = client.post(f"/api/v1/providers/{ids['lazy']}/suspend", json={"reason": "多次迟到"}, headers=h_staff)
    black = client.post(f"/api/v1/providers/{ids['bad']}/blacklist", json={"reason": "虚报服务"}, headers=h_staff)
    assert susp.status_code == black.status_code == 200
    assert susp.get_json()["status_changed_at"] <= black.get_json()["status_changed_at"]

    for h in (h_admin, h_staff):
        record = client.get(f"/api/v1/organizations/{ids['org']}", headers=h).get_json()
        assert record["sanctions"] == [  # newest first; the verified member and the outsider are not listed
            {"provider_id": ids["bad"], "name": names["bad"], "status": "blacklisted", "reason": "虚报服务",
             "at": black.get_json()["status_changed_at"]},
            {"provider_id": ids["lazy"], "name": names["lazy"], "status": "suspended", "reason": "多次迟到",
             "at": susp.get_json()["status_changed_at"]}]


def test_lifting_a_suspension_takes_the_provider_off_the_record(client, session):
    com = f.first_community(session)
    admin = f.user(session, Role.ORG_ADMIN)
    org = f.organization(session, admin, com)
    pid, oid = f.provider(session, com, organization=org).id, org.id
    h_staff = f.bearer(session, f.staff(session, com))
    session.commit()
    client.post(f"/api/v1/providers/{pid}/suspend", json={"reason": "调查中"}, headers=h_staff)
    verified = client.post(f"/api/v1/providers/{pid}/verify", headers=h_staff).get_json()
    assert verified["status"] == "verified" and verified["status_changed_at"] is not None
    assert client.get(f"/api/v1/organizations/{oid}", headers=h_staff).get_json()["sanctions"] == []


def test_other_communities_staff_see_no_sanctions(client, session):
    com = f.first_community(session)
    elsewhere = f.other_community(session, com)
    admin = f.user(session, Role.ORG_ADMIN)
    org = f.organization(session, admin, com)
    f.provider(session, com, organization=org, status=ProviderStatus.BLACKLISTED, status_reason="虚报服务")
    oid = org.id
    h_other = f.bearer(session, f.staff(session, elsewhere))
    h_provider = f.bearer(session, f.user(session, Role.PROVIDER))
    session.commit()
    assert client.get(f"/api/v1/organizations/{oid}", headers=h_other).status_code == 404
    assert client.get(f"/api/v1/organizations/{oid}", headers=h_provider).status_code == 404


def test_verifying_an_organization_stamps_its_date(client, session):
    com = f.first_community(session)
    admin = f.user(session, Role.ORG_ADMIN)
    org = f.organization(session, admin, com)
    org.status = ProviderStatus.PENDING
    oid = org.id
    h_staff = f.bearer(session, f.staff(session, com))
    session.commit()
    assert client.get(f"/api/v1/organizations/{oid}", headers=h_staff).get_json()["status_changed_at"] is None
    r = client.post(f"/api/v1/organizations/{oid}/verify", headers=h_staff)
    assert r.status_code == 200 and r.get_json()["status_changed_at"] is not None
