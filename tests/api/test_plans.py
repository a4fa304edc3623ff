"""Recurring plans and 每日平安 over HTTP: the contract's shapes, 422s, access."""
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from dispatch.catalog import Role
from models.types import utcnow
from tests import factories as f

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def world(session, client):
    com = f.first_community(session)
    owner = f.user(session, Role.SENIOR)
    senior = f.senior(session, com, owner=owner)
    staff = f.staff(session, com)
    stranger = f.user(session, Role.FAMILY)
    session.commit()
    tomorrow = (utcnow() + timedelta(days=1)).astimezone(SH).date()
    w = {"senior": senior, "h": f.bearer(session, owner), "staff_h": f.bearer(session, staff),
         "stranger_h": f.bearer(session, stranger), "tomorrow": tomorrow, "com": com}
    session.commit()
    f.fresh(session)
    return w


def _create(client, w, **extra):
    body = {"senior_id": w["senior"].id, "service_type": "meal", "rrule": "FREQ=DAILY",
            "start": f"{w['tomorrow']}T11:30:00", "duration_minutes": 45, **extra}
    return client.post("/api/v1/plans", json=body, headers=w["h"])


def test_create_list_occurrences_skip_pause_delete(client, world):
    r = _create(client, world)
    assert r.status_code == 201, r.get_json()
    plan = r.get_json()
    assert plan["status"] == "active" and plan["rrule"] == "FREQ=DAILY"
    assert "T03:30:00" in plan["start"]  # 11:30 local, in UTC
    occ = client.get(f"/api/v1/plans/{plan['id']}/occurrences", headers=world["h"],
                     query_string={"from": f"{world['tomorrow']}T00:00:00",
                                   "to": f"{world['tomorrow'] + timedelta(days=20)}T00:00:00"}).get_json()
    made = [o for o in occ if o["request_id"] is not None]
    assert len(made) >= 14 and {o["status"] for o in made} == {"pending"}
    assert {o["status"] for o in occ if o["request_id"] is None} <= {"planned"}
    assert set(occ[0]) >= {"start", "end", "request_id", "status"}
    skip = client.post(f"/api/v1/plans/{plan['id']}/skip", json={"date": str(world["tomorrow"])}, headers=world["h"])
    assert skip.status_code == 200 and skip.get_json()["status"] == "skipped"
    paused = client.patch(f"/api/v1/plans/{plan['id']}", json={"paused": True}, headers=world["h"])
    assert paused.status_code == 200 and paused.get_json()["status"] == "paused"
    resumed = client.patch(f"/api/v1/plans/{plan['id']}", json={"paused": False}, headers=world["h"])
    assert resumed.get_json()["status"] == "active"
    assert client.delete(f"/api/v1/plans/{plan['id']}", headers=world["h"]).get_json()["status"] == "ended"
    again = client.patch(f"/api/v1/plans/{plan['id']}", json={"paused": False}, headers=world["h"])
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "invalid_transition"
    listed = client.get(f"/api/v1/plans?senior_id={world['senior'].id}", headers=world["h"]).get_json()
    assert isinstance(listed, list), listed
    assert listed[0]["id"] == plan["id"]


@pytest.mark.parametrize("extra, field", [
    ({"rrule": "FREQ=HOURLY"}, "rrule"),
    ({"rrule": "FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=4"}, "rrule"),
    ({"rrule": "FREQ=DAILY;BYHOUR=8,18"}, "rrule"),
    ({"rrule": "nonsense"}, "rrule"),
    ({"start": "2026-02-30T09:00:00"}, "start"),
    ({"duration_minutes": 5}, "duration_minutes"),
])
def test_invalid_plans_are_422_with_the_field(client, world, extra, field):
    r = _create(client, world, **extra)
    assert r.status_code == 422, r.get_json()
    assert field in str(r.get_json()["error"]["details"])


def test_a_second_daily_plan_of_the_same_type_is_422(client, world):
    assert _create(client, world).status_code == 201
    r = _create(client, world, rrule="FREQ=WEEKLY;BYDAY=MO")
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "plan_clash"


def test_strangers_see_no_plan(client, world):
    plan = _create(client, world).get_json()
    assert client.get(f"/api/v1/plans/{plan['id']}", headers=world["stranger_h"]).status_code == 404
    assert client.delete(f"/api/v1/plans/{plan['id']}", headers=world["stranger_h"]).status_code == 404
    body = {"senior_id": world["senior"].id, "service_type": "meal", "rrule": "FREQ=DAILY",
            "start": f"{world['tomorrow']}T09:00:00"}
    assert client.post("/api/v1/plans", json=body, headers=world["stranger_h"]).status_code == 404


def test_daily_check_in_over_http(client, world):
    sid = world["senior"].id
    r = client.put(f"/api/v1/seniors/{sid}/checkin", json={"enabled": True, "deadline": "00:00"}, headers=world["h"])
    assert r.status_code == 200 and r.get_json() == {"senior_id": sid, "enabled": True, "deadline": "00:00"}
    assert client.put(f"/api/v1/seniors/{sid}/checkin", json={"enabled": True, "deadline": "25:00"},
                      headers=world["h"]).status_code == 422
    missing = client.get("/api/v1/center/checkins", headers=world["staff_h"]).get_json()
    assert [m["senior_id"] for m in missing] == [sid]
    assert client.get("/api/v1/center/checkins", headers=world["h"]).status_code == 403
    done = client.post("/api/v1/checkins", json={"senior_id": sid}, headers=world["h"])
    assert done.status_code == 201 and done.get_json()["senior_id"] == sid
    assert client.get("/api/v1/center/checkins", headers=world["staff_h"]).get_json() == []
    assert client.post("/api/v1/checkins", json={"senior_id": sid}, headers=world["stranger_h"]).status_code == 404
