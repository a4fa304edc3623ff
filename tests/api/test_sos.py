"""SOS over HTTP: one open alert per senior, GET /sos and GET /sos/{id} in each role's view, acks."""
from __future__ import annotations

import pytest

from dispatch.catalog import Role
from tests import factories as f


@pytest.fixture
def world(session):
    a = f.first_community(session)
    b = f.other_community(session, a)
    users = {"senior": f.user(session, Role.SENIOR), "other_senior": f.user(session, Role.SENIOR),
             "family": f.user(session, Role.FAMILY), "stranger_family": f.user(session, Role.FAMILY),
             "staff_a": f.staff(session, a), "staff_b": f.staff(session, b), "admin": f.user(session, Role.ADMIN),
             "org_admin": f.user(session, Role.ORG_ADMIN)}
    senior = f.senior(session, a, owner=users["senior"])
    f.senior(session, a, owner=users["other_senior"])
    f.family_link(session, senior, users["family"])
    near = f.on_duty_provider(session, a, km_east=0.3)
    far = f.on_duty_provider(session, b, km_east=0.3)
    session.flush()
    users["near_provider"] = session.get(type(users["senior"]), near.user_id)
    users["far_provider"] = session.get(type(users["senior"]), far.user_id)
    headers = {role: f.bearer(session, u) for role, u in users.items()}
    session.commit()
    return {"senior_id": senior.id, "h": headers, "users": users}


def test_a_second_press_returns_the_open_alert(client, world):
    h = world["h"]
    first = client.post("/api/v1/sos", json={"senior_id": world["senior_id"]}, headers=h["senior"])
    again = client.post("/api/v1/sos", json={"senior_id": world["senior_id"]}, headers=h["family"])
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"] and again.get_json()["status"] == "open"


@pytest.mark.parametrize("role, sees", [
    ("senior", True), ("family", True), ("staff_a", True), ("admin", True), ("near_provider", True),
    ("other_senior", False), ("stranger_family", False), ("staff_b", False), ("far_provider", False),
    ("org_admin", False)])
def test_each_role_sees_only_the_alerts_in_its_view(client, world, role, sees):
    h = world["h"]
    sos_id = client.post("/api/v1/sos", json={"senior_id": world["senior_id"]}, headers=h["senior"]).get_json()["id"]
    listed = client.get("/api/v1/sos?status=open", headers=h[role])
    one = client.get(f"/api/v1/sos/{sos_id}", headers=h[role])
    assert listed.status_code == 200
    assert ([a["id"] for a in listed.get_json()] == [sos_id]) is sees
    assert one.status_code == (200 if sees else 404)
    if sees:
        body = one.get_json()
        assert {"id", "senior_id", "status", "created_at", "acks"} <= set(body)
    else:
        assert "senior_name" not in one.get_json()


def test_acks_say_who_has_seen_it_and_resolved_alerts_leave_the_open_list(client, world):
    h, users = world["h"], world["users"]
    sos_id = client.post("/api/v1/sos", json={"senior_id": world["senior_id"]}, headers=h["senior"]).get_json()["id"]
    assert client.post(f"/api/v1/sos/{sos_id}/ack", headers=h["family"]).status_code == 200
    body = client.post(f"/api/v1/sos/{sos_id}/ack", headers=h["staff_a"]).get_json()
    assert [(a["user_id"], a["role"]) for a in body["acks"]] == [(users["family"].id, "family"),
                                                                (users["staff_a"].id, "center_staff")]
    assert client.get(f"/api/v1/sos/{sos_id}", headers=h["senior"]).get_json()["status"] == "acknowledged"
    assert client.post(f"/api/v1/sos/{sos_id}/resolve", json={"note": "已到场"}, headers=h["staff_a"]).status_code == 200
    assert client.get("/api/v1/sos?status=open", headers=h["family"]).get_json() == []
    assert [a["id"] for a in client.get("/api/v1/sos?status=all", headers=h["family"]).get_json()] == [sos_id]


@pytest.mark.parametrize("query", ["status=closed", "status=", "limit=5"])
def test_a_bad_list_query_is_422(client, world, query):
    r = client.get(f"/api/v1/sos?{query}", headers=world["h"]["staff_a"])
    assert r.status_code == 422 and r.get_json()["error"]["code"]
