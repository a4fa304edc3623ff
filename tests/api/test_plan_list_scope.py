"""GET /plans without senior_id (the console's list): staff see their communities' plans with the
senior's name, an admin all, the senior's side their own, a provider none; staff pause and resume."""
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
    other = f.other_community(session, com)
    owner, other_owner = f.user(session, Role.SENIOR), f.user(session, Role.SENIOR)
    senior = f.senior(session, com, owner=owner, name="周桂兰")
    far = f.senior(session, other, owner=other_owner, name="吴大爷")
    w = {"senior": senior, "far": far, "h": f.bearer(session, owner), "other_h": f.bearer(session, other_owner),
         "staff_h": f.bearer(session, f.staff(session, com)), "admin_h": f.bearer(session, f.staff(session, role=Role.ADMIN)),
         "provider_h": f.bearer(session, f.user(session, Role.PROVIDER))}
    session.commit()
    tomorrow = (utcnow() + timedelta(days=1)).astimezone(SH).date()
    for senior_row, headers in ((senior, w["h"]), (far, w["other_h"])):
        r = client.post("/api/v1/plans", headers=headers, json={
            "senior_id": senior_row.id, "service_type": "meal", "rrule": "FREQ=WEEKLY;BYDAY=MO",
            "start": f"{tomorrow}T11:30:00"})
        assert r.status_code == 201, r.get_json()
        w[f"plan_{senior_row.id}"] = r.get_json()["id"]
    return w


def _ids(client, headers, **query):
    r = client.get("/api/v1/plans", headers=headers, query_string=query)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_staff_list_their_communities_plans_with_the_seniors_name(client, world):
    listed = _ids(client, world["staff_h"])
    assert [(p["id"], p["senior_name"]) for p in listed] == [(world[f"plan_{world['senior'].id}"], "周桂兰")]
    assert len(_ids(client, world["admin_h"])) == 2
    assert [p["id"] for p in _ids(client, world["h"])] == [world[f"plan_{world['senior'].id}"]]
    assert _ids(client, world["provider_h"]) == []
    assert len(_ids(client, world["admin_h"], limit=1)) == 1


def test_staff_pause_and_resume_a_plan_of_their_community_only(client, world):
    mine, theirs = world[f"plan_{world['senior'].id}"], world[f"plan_{world['far'].id}"]
    paused = client.patch(f"/api/v1/plans/{mine}", json={"paused": True}, headers=world["staff_h"])
    assert paused.status_code == 200 and paused.get_json()["status"] == "paused"
    assert _ids(client, world["staff_h"])[0]["status"] == "paused"
    resumed = client.patch(f"/api/v1/plans/{mine}", json={"paused": False}, headers=world["staff_h"])
    assert resumed.get_json()["status"] == "active"
    assert client.patch(f"/api/v1/plans/{theirs}", json={"paused": True}, headers=world["staff_h"]).status_code == 404


def test_a_seniors_list_is_unchanged_and_bad_limits_are_refused(client, world):
    one = client.get(f"/api/v1/plans?senior_id={world['senior'].id}", headers=world["staff_h"]).get_json()
    assert [p["id"] for p in one] == [world[f"plan_{world['senior'].id}"]]
    assert client.get("/api/v1/plans?limit=0", headers=world["staff_h"]).status_code == 422
