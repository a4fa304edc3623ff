"""GET /me gives where a first Socket.IO connection's replay starts: the newest event for this user."""
from __future__ import annotations

from sqlmodel import func, select

from models.events import Event
from tests import factories as f


def test_me_says_the_newest_event_for_this_user(client, session, fresh):
    w = f.senior_and_provider(session, north_km=0.2)
    session.commit()
    assert client.get("/api/v1/me", headers=w.h_senior).get_json()["user"]["last_event_id"] == 0
    request = client.post("/api/v1/requests", json={"senior_id": w.senior_id, "service_type": "meal"},
                          headers=w.h_senior).get_json()
    offer = client.get("/api/v1/offers", headers=w.h_provider).get_json()[0]
    assert client.post(f"/api/v1/offers/{offer['id']}/accept", headers=w.h_provider).status_code == 200

    me = client.get("/api/v1/me", headers=w.h_senior).get_json()["user"]
    provider = client.get("/api/v1/me", headers=w.h_provider).get_json()["user"]
    with fresh() as s:
        senior_user = me["id"]
        newest = s.exec(select(func.max(Event.id)).where(Event.user_id == senior_user)).one()
        newest_provider = s.exec(select(func.max(Event.id)).where(Event.user_id == provider["id"])).one()
    assert request["id"] and newest and me["last_event_id"] == newest
    assert provider["last_event_id"] == newest_provider  # each their own: no other user's events counted
