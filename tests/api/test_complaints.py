"""Complaints over HTTP: who files, who sees, who resolves; bad input; resolving once."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from dispatch.catalog import Role
from dispatch.lifecycle import RequestStatus
from models.audit import AuditLog
from models.requests import ServiceRequest
from models.types import utcnow
from tests import factories as f

BODY = {"category": "late", "text": "迟到了四十分钟，饭菜都凉了"}


def visit(session, senior, provider, status: RequestStatus) -> ServiceRequest:
    start = utcnow() - timedelta(hours=3)
    row = ServiceRequest(senior_id=senior.id, community_id=senior.community_id, service_type="meal", status=status,
                         scheduled_start=start, scheduled_end=start + timedelta(hours=1),
                         provider_id=provider.id if provider else None, created_by=senior.user_id or 1)
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def w(session, client):
    """A senior of the first community with a completed visit by one provider, their family (one may
    book, one may not, one unlinked), staff here and elsewhere, an admin, another provider."""
    com = f.first_community(session)
    elsewhere = f.other_community(session, com)
    owner = f.user(session, Role.SENIOR)
    senior = f.senior(session, com, owner=owner)
    son, niece, stranger = (f.user(session, Role.FAMILY) for _ in range(3))
    f.family_link(session, senior, son)
    f.family_link(session, senior, niece, can_book=False)
    provider, other_provider = f.provider(session, com), f.provider(session, com)
    done = visit(session, senior, provider, RequestStatus.COMPLETED)
    offering = visit(session, senior, None, RequestStatus.OFFERING)
    org_admin = f.user(session, Role.ORG_ADMIN)
    users = {"senior": owner, "son": son, "niece": niece, "stranger": stranger, "org_admin": org_admin,
             "staff": f.staff(session, com), "other_staff": f.staff(session, elsewhere),
             "admin": f.staff(session, role=Role.ADMIN), "provider": session.get(type(owner), provider.user_id),
             "other_provider": session.get(type(owner), other_provider.user_id)}
    headers = {name: f.bearer(session, u) for name, u in users.items()}
    ids = {"done": done.id, "offering": offering.id, "provider": provider.id, "community": com.id}
    session.commit()
    f.fresh(session)
    return {"h": headers, **ids}


def file(client, w, who="senior", request="done", body=None):
    return client.post(f"/api/v1/requests/{w[request]}/complaints", json=body or BODY, headers=w["h"][who])


def listed(client, w, who, status="all"):
    r = client.get(f"/api/v1/complaints?status={status}", headers=w["h"][who])
    assert r.status_code == 200, r.get_json()
    return [c["id"] for c in r.get_json()]


def resolve(client, w, cid, who="staff", body=None):
    return client.post(f"/api/v1/complaints/{cid}/resolve", json=body or {"upheld": True, "resolution": "属实，已约谈"},
                       headers=w["h"][who])


def code(r, status):
    assert r.status_code == status, r.get_json()
    return r.get_json()["error"]["code"]


def test_the_senior_files_a_complaint_on_a_completed_visit(client, w):
    r = file(client, w)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert {k: body[k] for k in ("request_id", "provider_id", "community_id", "category", "text", "status")} == {
        "request_id": w["done"], "provider_id": w["provider"], "community_id": w["community"], "category": "late",
        "text": BODY["text"], "status": "open"}
    assert body["senior_id"] and body["created_at"] and body["upheld"] is None and body["resolved_at"] is None


def test_family_with_booking_rights_files_and_others_may_not(client, w):
    assert file(client, w, "son").status_code == 201
    assert code(file(client, w, "niece"), 403) == "forbidden"  # linked, but without booking rights
    assert file(client, w, "stranger").status_code == 404


@pytest.mark.parametrize("who, status", [("staff", 403), ("admin", 403), ("provider", 403),
                                         ("other_staff", 404), ("other_provider", 404), ("org_admin", 404)])
def test_only_the_seniors_side_files(client, w, who, status):
    assert file(client, w, who).status_code == status
    assert listed(client, w, "admin") == []


def test_no_complaint_on_a_visit_no_provider_took(client, w):
    assert code(file(client, w, request="offering"), 409) == "no_provider"
    assert file(client, w, request="offering").get_json()["error"]["message"].count(" / ") == 1


def test_one_complaint_per_filer_and_visit(client, w):
    assert file(client, w).status_code == 201
    assert code(file(client, w, body={"category": "rude", "text": "态度很差"}), 409) == "already_complained"
    assert file(client, w, "son").status_code == 201  # the son's own complaint about the same visit


@pytest.mark.parametrize("body", [
    {"category": "smelly", "text": "不好"}, {"category": "late"}, {"category": "late", "text": "x"},
    {"category": "late", "text": "好" * 1001}, {**BODY, "provider_id": 3}, {"text": "迟到了"},
])
def test_bad_complaints_are_422(client, w, body):
    assert code(file(client, w, body=body), 422) == "validation_error"


def test_who_sees_which_complaints(client, w):
    mine = file(client, w).get_json()["id"]
    sons = file(client, w, "son").get_json()["id"]
    assert listed(client, w, "senior") == [mine]
    assert listed(client, w, "son") == [sons]
    assert listed(client, w, "provider") == [sons, mine]  # about them, newest first
    assert listed(client, w, "staff") == listed(client, w, "admin") == [sons, mine]
    for nobody in ("other_staff", "other_provider", "niece", "stranger", "org_admin"):
        assert listed(client, w, nobody) == [], nobody


def test_the_status_filter(client, w):
    first, second = file(client, w).get_json()["id"], file(client, w, "son").get_json()["id"]
    assert resolve(client, w, first).status_code == 200
    assert listed(client, w, "staff", "open") == [second]
    assert listed(client, w, "staff", "resolved") == [first]
    assert listed(client, w, "staff", "all") == [second, first]
    assert client.get("/api/v1/complaints", headers=w["h"]["staff"]).get_json()[0]["id"] == second  # open by default
    assert code(client.get("/api/v1/complaints?status=closed", headers=w["h"]["staff"]), 422) == "validation_error"


def test_staff_resolve_once_and_it_is_audited(client, w, session):
    cid = file(client, w).get_json()["id"]
    r = resolve(client, w, cid)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["status"], body["upheld"], body["resolution"]) == ("resolved", True, "属实，已约谈")
    assert body["resolved_at"] is not None
    again = resolve(client, w, cid, body={"upheld": False, "resolution": "重新认定"})
    assert code(again, 409) == "invalid_transition"
    rows = f.fresh(session).exec(select(AuditLog).where(AuditLog.action == "complaint.resolve")).all()
    assert [(a.object_id, a.detail["upheld"]) for a in rows] == [(cid, True)]


@pytest.mark.parametrize("who, status", [("other_staff", 404), ("other_provider", 404), ("stranger", 404),
                                         ("org_admin", 404), ("senior", 403), ("provider", 403)])
def test_only_the_communitys_staff_resolve(client, w, who, status):
    cid = file(client, w).get_json()["id"]
    assert resolve(client, w, cid, who).status_code == status
    assert listed(client, w, "staff", "open") == [cid]


def test_an_admin_resolves_anywhere_and_an_unknown_complaint_is_404(client, w):
    cid = file(client, w).get_json()["id"]
    assert resolve(client, w, cid + 1000).status_code == 404
    assert resolve(client, w, cid, "admin", {"upheld": False, "resolution": "查无实据"}).get_json()["upheld"] is False


@pytest.mark.parametrize("body", [{"upheld": True}, {"resolution": "属实"}, {"upheld": "maybe", "resolution": "属实"},
                                  {"upheld": True, "resolution": "x"}, {"upheld": True, "resolution": "属实", "x": 1}])
def test_bad_resolutions_are_422(client, w, body):
    cid = file(client, w).get_json()["id"]
    assert code(resolve(client, w, cid, body=body), 422) == "validation_error"
    assert listed(client, w, "staff", "open") == [cid]


def test_an_upheld_complaint_lowers_the_providers_credit_and_a_dismissed_one_does_not(client, w):
    first, second = file(client, w).get_json()["id"], file(client, w, "son").get_json()["id"]

    def credit():
        return client.get(f"/api/v1/providers/{w['provider']}", headers=w["h"]["staff"]).get_json()["credit_score"]

    resolve(client, w, first, body={"upheld": False, "resolution": "查无实据"})
    assert credit() == 100
    resolve(client, w, second)
    assert credit() == 85
