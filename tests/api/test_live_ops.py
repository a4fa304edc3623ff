"""Live operations for center staff: GET /center/live, dashboard_updated and SOS events in the
community's room, a request's candidates, manual assignment reaching the provider, hotline booking.

The relay is drained by hand (its kick switched off), as in test_sockets.py."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlmodel import select

from dispatch.catalog import ProviderStatus, Role
from dispatch.lifecycle import RequestStatus
from models.accounts import User
from models.audit import AuditLog
from models.requests import ServiceRequest
from models.seniors import Senior
from models.types import utcnow
from server.sockets import socketio
from server.state import state
from server.steps.directory import bump_revision
from server.steps.waves import plan_next_wave
from tests import factories as f


@pytest.fixture
def relay(app, monkeypatch):
    r = state(app).relay
    monkeypatch.setattr(r, "kick", lambda: None)
    return r


def connect(app, headers: dict):
    sio = socketio.test_client(app, auth={"token": f.token_of(headers)})
    assert sio.is_connected()
    sio.get_received()  # "ready"
    return sio


def received(sio) -> list[tuple[str, dict]]:
    return [(m["name"], m["args"][0] if m["args"] else None) for m in sio.get_received()]


def dashboards(events) -> list[dict]:
    return [{k: p[k] for k in ("community_id", "what")} for n, p in events if n == "dashboard_updated"]


def visit(session, senior, *, status, start, by, provider=None, asap=True) -> ServiceRequest:
    row = ServiceRequest(senior_id=senior.id, community_id=senior.community_id, service_type="meal", status=status,
                         asap=asap, scheduled_start=start, scheduled_end=start + timedelta(hours=1),
                         duration_minutes=60, created_by=by.id, provider_id=provider.id if provider else None,
                         created_at=start, updated_at=start)
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def world(session):
    """Community c: a senior (with family) and providers around her — on duty at 0.3, 1.2 and 3 km, one busy
    at 0.6 km, one off duty at 0.1 km, one suspended at 0.2 km, one offering only cleaning at 0.4 km;
    another community with its own senior, provider and staff."""
    c = f.first_community(session)
    other = f.other_community(session, c)
    w = SimpleNamespace(c=c, other=other)
    w.senior_user = f.user(session, Role.SENIOR)
    w.senior = f.senior(session, c, owner=w.senior_user, name="李桂英", phone="13900001234")
    w.family = f.user(session, Role.FAMILY)
    f.family_link(session, w.senior, w.family)
    w.far_senior = f.senior(session, other, name="赵大爷")

    def north(km):
        return f.offset(c.lat, c.lon, north_km=km)[0]

    w.near = f.provider_on_duty_at(session, c, lat=north(0.3))
    w.mid = f.provider_on_duty_at(session, c, lat=north(1.2), credit_score=70)
    w.far = f.provider_on_duty_at(session, c, lat=north(3.0))
    w.busy = f.provider_on_duty_at(session, c, lat=north(0.6))
    w.cleaner = f.provider_on_duty_at(session, c, lat=north(0.4), services=("cleaning",))
    w.off_duty = f.provider(session, c, lat=north(0.1))
    w.suspended = f.provider(session, c, lat=north(0.2), status=ProviderStatus.SUSPENDED)
    for p in (w.off_duty, w.suspended):
        bump_revision(session, p)
    w.elsewhere = f.provider_on_duty_at(session, other)
    w.staff, w.other_staff = f.staff(session, c), f.staff(session, other)
    w.admin, w.org_admin = f.user(session, Role.ADMIN), f.user(session, Role.ORG_ADMIN)
    now = utcnow()
    w.busy_visit = visit(session, w.far_senior, status=RequestStatus.ASSIGNED, start=now - timedelta(minutes=10),
                         by=w.staff, provider=w.busy)
    w.escalated = visit(session, w.senior, status=RequestStatus.ESCALATED, start=now, by=w.senior_user)
    w.h = {name: f.bearer(session, u) for name, u in [
        ("senior", w.senior_user), ("family", w.family), ("staff", w.staff), ("other_staff", w.other_staff),
        ("admin", w.admin), ("org_admin", w.org_admin)]}
    for name in ("near", "off_duty", "elsewhere"):
        w.h[name] = f.bearer(session, session.get(User, getattr(w, name).user_id))
    session.commit()
    return w


# --- GET /center/live ----------------------------------------------------------------------------

def test_live_shows_open_requests_open_sos_and_providers_on_duty_of_the_staffs_communities(client, world, session):
    w, now = world, utcnow()
    assigned = visit(session, w.senior, status=RequestStatus.ASSIGNED, start=now + timedelta(hours=2),
                     by=w.senior_user, provider=w.near)
    serving = visit(session, w.senior, status=RequestStatus.IN_SERVICE, start=now - timedelta(hours=2),
                    by=w.senior_user, provider=w.mid)
    late = visit(session, w.senior, status=RequestStatus.OFFERING, start=now - timedelta(minutes=45),
                 by=w.senior_user)
    visit(session, w.senior, status=RequestStatus.COMPLETED, start=now - timedelta(hours=5), by=w.senior_user)
    visit(session, w.senior, status=RequestStatus.PENDING, start=now + timedelta(days=3), by=w.senior_user, asap=False)
    elsewhere = visit(session, w.far_senior, status=RequestStatus.ESCALATED, start=now, by=w.other_staff)
    session.commit()
    sos = client.post("/api/v1/sos", json={"senior_id": w.senior.id}, headers=w.h["senior"]).get_json()
    client.post("/api/v1/sos", json={"senior_id": w.far_senior.id}, headers=w.h["admin"])
    assert client.post(f"/api/v1/sos/{sos['id']}/ack", headers=w.h["family"]).status_code == 200

    r = client.get("/api/v1/center/live", headers=w.h["staff"])
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert set(body) == {"at", "requests", "sos", "providers"}
    requests = {q["id"]: q for q in body["requests"]}
    assert set(requests) == {w.escalated.id, assigned.id, serving.id, late.id}
    assert {i: q["overdue"] for i, q in requests.items()} == {
        w.escalated.id: False, assigned.id: False, serving.id: False, late.id: True}
    assert all(q["senior_name"] == "李桂英" and q["address"] is None and q["senior_phone"] is None
               for q in requests.values())
    assert requests[assigned.id]["provider_name"] == w.near.name
    assert [(a["id"], a["senior_name"], a["status"]) for a in body["sos"]] == [(sos["id"], "李桂英", "acknowledged")]
    assert [(a["user_id"], a["role"]) for a in body["sos"][0]["acks"]] == [(w.family.id, "family")]
    providers = {p["id"]: p for p in body["providers"]}
    assert set(providers) == {w.near.id, w.mid.id, w.far.id, w.busy.id, w.cleaner.id}
    assert providers[w.near.id]["active_load"] == 1 and providers[w.far.id]["active_load"] == 0
    assert providers[w.busy.id]["active_load"] == 1
    for p in providers.values():  # coarse: ~1 km, never the metre
        assert p["lat"] == round(p["lat"], 2) and p["lon"] == round(p["lon"], 2) and p["on_duty"] is True
    assert providers[w.near.id]["lat"] == round(w.near.duty_lat, 2)

    everything = client.get("/api/v1/center/live", headers=w.h["admin"]).get_json()
    assert {w.escalated.id, elsewhere.id} <= {q["id"] for q in everything["requests"]}
    assert w.elsewhere.id in {p["id"] for p in everything["providers"]} and len(everything["sos"]) == 2
    theirs = client.get(f"/api/v1/center/live?community_id={w.other.id}", headers=w.h["admin"]).get_json()
    assert [q["id"] for q in theirs["requests"]] == [w.busy_visit.id, elsewhere.id]
    assert {p["id"] for p in theirs["providers"]} == {w.elsewhere.id}
    mine = client.get("/api/v1/center/live", headers=w.h["other_staff"]).get_json()
    assert {w.busy_visit.id, elsewhere.id} == {q["id"] for q in mine["requests"]}


def test_live_reads_a_fixed_number_of_statements(client, world, session, engine):
    from sqlalchemy import event

    def count() -> int:
        seen = []

        def listener(*_args):
            seen.append(1)

        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get("/api/v1/center/live", headers=world.h["admin"]).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    client.post("/api/v1/sos", json={"senior_id": world.senior.id}, headers=world.h["senior"])
    few = count()
    now = utcnow()
    for i in range(6):
        p = f.provider_on_duty_at(session, world.c)
        visit(session, world.senior, status=RequestStatus.ASSIGNED, start=now + timedelta(hours=i), by=world.staff,
              provider=p)
        f.senior(session, world.c, name=f"老人{i}")
    session.commit()
    for senior in session.exec(select(Senior).where(Senior.name.like("老人%"))).all():
        client.post("/api/v1/sos", json={"senior_id": senior.id}, headers=world.h["admin"])
    assert count() == few


def test_live_for_another_community_is_404_and_for_other_roles_403(client, world):
    h = world.h
    assert client.get(f"/api/v1/center/live?community_id={world.c.id}", headers=h["other_staff"]).status_code == 404
    assert client.get(f"/api/v1/center/live?community_id={world.c.id}", headers=h["staff"]).status_code == 200
    assert client.get("/api/v1/center/live?community_id=0", headers=h["staff"]).status_code == 422
    for role in ("senior", "family", "near", "org_admin"):
        r = client.get("/api/v1/center/live", headers=h[role])
        assert r.status_code == 403, role
        assert "requests" not in r.get_json()


# --- events to the community's staff --------------------------------------------------------------

def test_sos_raised_acked_and_resolved_reach_the_communitys_staff_only(app, client, world, relay):
    w = world
    staff, other, admin = (connect(app, w.h[n]) for n in ("staff", "other_staff", "admin"))
    sos = client.post("/api/v1/sos", json={"senior_id": w.senior.id}, headers=w.h["senior"]).get_json()
    relay.drain()
    got = received(staff)
    assert [p["sos"]["id"] for n, p in got if n == "sos_alert"] == [sos["id"]]
    assert dashboards(got) == [{"community_id": w.c.id, "what": "sos"}]
    assert dashboards(received(admin)) == [{"community_id": w.c.id, "what": "sos"}]
    for step in (f"/api/v1/sos/{sos['id']}/ack", f"/api/v1/sos/{sos['id']}/resolve"):
        assert client.post(step, json={"note": "已到场"} if "resolve" in step else None,
                           headers=w.h["staff"]).status_code == 200
        relay.drain()
        got = received(staff)
        assert [n for n, _ in got if n.startswith("sos")] == ["sos_updated"]
        assert dashboards(got) == [{"community_id": w.c.id, "what": "sos"}]
    assert received(other) == []
    for s in (staff, other, admin):
        s.disconnect()


def test_going_on_and_off_duty_reaches_the_providers_communitys_staff(app, client, world, relay):
    w = world
    staff, other = connect(app, w.h["staff"]), connect(app, w.h["other_staff"])
    duty = {"on_duty": True, "lat": w.c.lat, "lon": w.c.lon}
    assert client.post("/api/v1/providers/me/duty", json=duty, headers=w.h["off_duty"]).status_code == 200
    relay.drain()
    # (Arriving, they are offered the escalated request too: a "request" one as well.)
    assert {"community_id": w.c.id, "what": "provider"} in dashboards(received(staff))
    # The same place again (to the console's ~1 km): nothing the console shows changed, no event.
    nudged = {**duty, "lat": w.c.lat + 0.0004}
    assert client.post("/api/v1/providers/me/duty", json=nudged, headers=w.h["off_duty"]).status_code == 200
    relay.drain()
    assert {"community_id": w.c.id, "what": "provider"} not in dashboards(received(staff))
    assert client.post("/api/v1/providers/me/duty", json={"on_duty": False}, headers=w.h["off_duty"]).status_code == 200
    relay.drain()
    assert dashboards(received(staff)) == [{"community_id": w.c.id, "what": "provider"}]
    assert received(other) == []
    staff.disconnect()
    other.disconnect()


# --- a request's candidates and manual assignment ---------------------------------------------------

def test_candidates_are_ranked_as_dispatch_ranks_them_then_the_near_blocked_ones_with_why(app, client, world,
                                                                                          fresh):
    w = world
    r = client.get(f"/api/v1/center/requests/{w.escalated.id}/candidates", headers=w.h["staff"])
    assert r.status_code == 200, r.get_json()
    listed = r.get_json()
    assert 0 < len(listed) <= 20
    with fresh() as s:
        request = s.get(ServiceRequest, w.escalated.id)
        ranked = plan_next_wave(s, request, s.get(Senior, w.senior.id), directory=state(app).directory,
                                now=utcnow(), wave_number=1).ranked
    eligible = [c for c in listed if c["eligible"]]
    assert [c["provider_id"] for c in eligible] == [c.provider_id for c in ranked]
    assert [c["provider_id"] for c in eligible][:3] == [w.near.id, w.mid.id, w.far.id]
    assert [c["score"] for c in eligible] == [round(c.score, 2) for c in ranked]
    first = eligible[0]
    assert first["name"] == w.near.name and first["distance_km"] == pytest.approx(0.3, abs=0.05)
    assert {r["code"] for r in first["reasons"]} >= {"distance", "rating", "credit"}
    assert all(set(r) == {"code", "zh", "en", "points"} for r in first["reasons"]) and first["blocked"] == []
    blocked = {c["provider_id"]: [b["code"] for b in c["blocked"]] for c in listed if not c["eligible"]}
    assert listed[len(eligible):] == [c for c in listed if not c["eligible"]]  # eligible first
    assert blocked[w.off_duty.id] == ["off_duty"]
    assert blocked[w.suspended.id] == ["suspended", "off_duty"]
    assert blocked[w.cleaner.id] == ["service_not_offered"]
    assert blocked[w.busy.id] == ["busy"]
    assert all(c["score"] is None and c["reasons"] == [] for c in listed if not c["eligible"])
    assert all(b["zh"] and b["en"] for c in listed for b in c["blocked"])
    near_first = [c["distance_km"] for c in listed if not c["eligible"]]
    assert near_first == sorted(near_first)
    assert client.get(f"/api/v1/center/requests/{w.escalated.id}/candidates",
                      headers=w.h["admin"]).get_json() == listed


def test_candidates_of_another_communitys_request_are_404_and_other_roles_403(client, world):
    url = f"/api/v1/center/requests/{world.escalated.id}/candidates"
    assert client.get(url, headers=world.h["other_staff"]).status_code == 404
    assert client.get("/api/v1/center/requests/999999/candidates", headers=world.h["staff"]).status_code == 404
    for role in ("senior", "family", "near", "org_admin"):
        assert client.get(url, headers=world.h[role]).status_code == 403, role


def test_manual_assignment_reaches_the_provider_live_and_is_audited(app, client, world, relay, fresh):
    w = world
    provider, staff, other = (connect(app, w.h[n]) for n in ("near", "staff", "other_staff"))
    r = client.post(f"/api/v1/center/requests/{w.escalated.id}/assign", json={"provider_id": w.near.id},
                    headers=w.h["staff"])
    assert r.status_code == 200, r.get_json()
    relay.drain()
    updates = [p["request"] for n, p in received(provider) if n == "request_updated"]
    assert [(u["id"], u["status"], u["provider_id"]) for u in updates] == [(w.escalated.id, "assigned", w.near.id)]
    assert dashboards(received(staff)) == [{"community_id": w.c.id, "what": "request"}]
    assert received(other) == []
    with fresh() as s:
        rows = s.exec(select(AuditLog).where(AuditLog.action == "request.assign")).all()
    assert [(a.actor_id, a.object_id, a.detail) for a in rows] == [
        (w.staff.id, w.escalated.id, {"provider_id": w.near.id})]
    for s in (provider, staff, other):
        s.disconnect()


@pytest.mark.parametrize("role", ["senior", "family", "near", "org_admin"])
def test_only_staff_assign(client, world, role):
    r = client.post(f"/api/v1/center/requests/{world.escalated.id}/assign", json={"provider_id": world.near.id},
                    headers=world.h[role])
    assert r.status_code == 403


def test_another_communitys_staff_cannot_assign(client, world):
    r = client.post(f"/api/v1/center/requests/{world.escalated.id}/assign", json={"provider_id": world.near.id},
                    headers=world.h["other_staff"])
    assert r.status_code == 404


# --- hotline booking ----------------------------------------------------------------------------------

def ids(response) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return [s["id"] for s in response.get_json()]


def test_seniors_found_by_name_or_phone_digits_within_the_staffs_view(client, world, session):
    w, h = world, world.h
    f.senior(session, w.c, name="李四", phone="13700009999")
    session.commit()
    assert ids(client.get("/api/v1/seniors?q=李桂", headers=h["staff"])) == [w.senior.id]
    assert ids(client.get("/api/v1/seniors?q=1234", headers=h["staff"])) == [w.senior.id]
    assert ids(client.get("/api/v1/seniors?q=139-0000 1234", headers=h["staff"])) == [w.senior.id]
    account = session.get(User, w.senior_user.id).phone  # the senior's account's phone finds her too
    assert ids(client.get(f"/api/v1/seniors?q=%2B86{account}", headers=h["staff"])) == [w.senior.id]
    assert ids(client.get("/api/v1/seniors?q=%25%25", headers=h["staff"])) == []  # LIKE wildcards are text
    assert ids(client.get("/api/v1/seniors?q=赵大", headers=h["staff"])) == []  # another community's
    assert ids(client.get("/api/v1/seniors?q=赵大", headers=h["other_staff"])) == [w.far_senior.id]
    assert ids(client.get("/api/v1/seniors?q=赵大", headers=h["admin"])) == [w.far_senior.id]
    assert ids(client.get("/api/v1/seniors?q=赵大", headers=h["family"])) == []


@pytest.mark.parametrize("q", ["李", "%20李%20", "", "x" * 41])
def test_a_search_shorter_than_two_characters_or_too_long_is_422(client, world, q):
    r = client.get(f"/api/v1/seniors?q={q}", headers=world.h["staff"])
    assert r.status_code == 422 and r.get_json()["error"]["code"]


def test_staff_book_by_hotline_and_it_is_audited(client, world, fresh):
    w = world
    body = {"senior_id": w.senior.id, "service_type": "cleaning", "channel": "hotline",
            "scheduled_start": (utcnow() + timedelta(days=2)).isoformat(), "notes": "老人来电"}
    r = client.post("/api/v1/requests", json=body, headers=w.h["staff"])
    assert r.status_code == 201, r.get_json()
    booked = r.get_json()
    assert booked["channel"] == "hotline" and booked["senior_id"] == w.senior.id
    assert client.get(f"/api/v1/requests/{booked['id']}", headers=w.h["senior"]).get_json()["channel"] == "hotline"
    with fresh() as s:
        assert s.get(ServiceRequest, booked["id"]).channel == "hotline"
        rows = s.exec(select(AuditLog).where(AuditLog.action == "request.create")).all()
    assert [(a.actor_id, a.object_id, a.detail) for a in rows] == [
        (w.staff.id, booked["id"], {"senior_id": w.senior.id, "channel": "hotline"})]
    assert client.post("/api/v1/requests", json=body, headers=w.h["other_staff"]).status_code == 404


@pytest.mark.parametrize("role", ["senior", "family"])
def test_only_staff_may_say_hotline(client, world, fresh, role):
    body = {"senior_id": world.senior.id, "service_type": "meal", "channel": "hotline"}
    r = client.post("/api/v1/requests", json=body, headers=world.h[role])
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "hotline_staff_only"
    mine = client.post("/api/v1/requests", json={**body, "channel": "app"}, headers=world.h[role])
    assert mine.status_code == 201 and mine.get_json()["channel"] == "app"
    with fresh() as s:
        assert s.exec(select(AuditLog).where(AuditLog.action == "request.create")).all() == []
    assert client.post("/api/v1/requests", json={**body, "channel": "fax"}, headers=world.h[role]).status_code == 422
