"""What the phone app shows about a visit: the assigned provider's name and, once given, the rating."""
from __future__ import annotations

from tests import factories as f


def test_the_seniors_side_sees_who_is_coming_and_the_rating(client, session):
    w = f.senior_and_provider(session, north_km=0.2)
    session.commit()
    request = client.post("/api/v1/requests", json={"senior_id": w.senior_id, "service_type": "meal"},
                          headers=w.h_senior).get_json()
    assert request["provider_name"] is None and request["rating_stars"] is None
    offer = client.get("/api/v1/offers", headers=w.h_provider).get_json()[0]
    assert client.post(f"/api/v1/offers/{offer['id']}/accept", headers=w.h_provider).status_code == 200
    name = client.get(f"/api/v1/providers/{w.provider_id}", headers=w.h_provider).get_json()["name"]

    one = client.get(f"/api/v1/requests/{request['id']}", headers=w.h_senior).get_json()
    listed = client.get("/api/v1/requests", headers=w.h_senior).get_json()
    assert one["provider_name"] == name and listed[0]["provider_name"] == name
    assert one["rating_stars"] is None

    senior = client.get(f"/api/v1/seniors/{w.senior_id}", headers=w.h_senior).get_json()
    for status in ("en_route", "in_service", "completed"):
        r = client.post(f"/api/v1/requests/{request['id']}/progress", headers=w.h_provider,
                        json={"status": status, "lat": senior["lat"], "lon": senior["lon"]})
        assert r.status_code == 200, r.get_json()
    assert client.post(f"/api/v1/requests/{request['id']}/rating", json={"stars": 5},
                       headers=w.h_senior).status_code == 201
    assert client.get(f"/api/v1/requests/{request['id']}", headers=w.h_senior).get_json()["rating_stars"] == 5
    assert client.get("/api/v1/requests", headers=w.h_senior).get_json()[0]["rating_stars"] == 5
    assert client.get("/api/v1/requests", headers=w.h_provider).get_json()[0]["rating_stars"] == 5
