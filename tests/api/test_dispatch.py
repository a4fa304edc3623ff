"""Booking to visit over HTTP: offers, acceptance, privacy of the address, progress, ratings, cancel."""
from datetime import timedelta

import pytest
from sqlmodel import select

from dispatch.catalog import CareLevel, ProviderStatus, Role
from models.requests import Offer, ServiceRequest
from models.types import utcnow
from tests import factories as f


@pytest.fixture
def world(session, client):
    """A senior with an account in the first community, five on-duty meal providers east of them."""
    com = f.first_community(session)
    owner = f.user(session, Role.SENIOR)
    senior = f.senior(session, com, owner=owner)
    providers = [f.on_duty_provider(session, com, km_east=0.3 * (i + 1)) for i in range(5)]
    staff = f.user(session, Role.CENTER_STAFF, communities=(com,))
    phones = [f.phone_of(session, p.user_id) for p in providers]
    session.commit()
    world = {
        "senior": senior, "senior_h": f.login(client, owner.phone), "providers": providers,
        "provider_h": [f.login(client, phone) for phone in phones],
        "staff_h": f.login(client, staff.phone), "community": com,
    }
    f.fresh(session)  # end the read snapshot: the app has written since (see conftest.session)
    return world


def book(client, world, **extra):
    body = {"senior_id": world["senior"].id, "service_type": "meal", **extra}
    return client.post("/api/v1/requests", json=body, headers=world["senior_h"])


def test_asap_booking_offers_the_nearest_first_wave_without_the_address(client, world):
    r = book(client, world)
    assert r.status_code == 201
    assert r.get_json()["status"] == "offering"
    offered = [client.get("/api/v1/offers", headers=h).get_json() for h in world["provider_h"]]
    assert [len(o) for o in offered] == [1, 1, 1, 0, 0]  # wave 1 = the three nearest
    offer = offered[0][0]
    assert offer["request_id"] == r.get_json()["id"] and offer["distance_km"] == pytest.approx(0.3, abs=0.05)
    assert "address" not in offer and "1栋" not in str(offer)
    assert {"lat", "lon", "community"} <= set(offer["area"])
    assert offer["reasons"][0]["code"] == "distance"


def test_accept_shows_the_address_to_the_winner_and_409_to_the_others(client, world):
    rid = book(client, world).get_json()["id"]
    offers = [client.get("/api/v1/offers", headers=h).get_json() for h in world["provider_h"][:3]]
    won = client.post(f"/api/v1/offers/{offers[1][0]['id']}/accept", headers=world["provider_h"][1])
    assert won.status_code == 200
    assert won.get_json()["status"] == "assigned" and won.get_json()["address"].endswith("1栋")
    lost = client.post(f"/api/v1/offers/{offers[0][0]['id']}/accept", headers=world["provider_h"][0])
    assert lost.status_code == 409 and lost.get_json()["error"]["code"] == "offer_taken"
    assert client.get("/api/v1/offers", headers=world["provider_h"][0]).get_json() == []
    assert client.get(f"/api/v1/requests/{rid}", headers=world["provider_h"][0]).status_code == 404


def test_visit_progress_checkin_flag_and_address_hidden_after_the_visit(client, world):
    rid = book(client, world).get_json()["id"]
    h = world["provider_h"][0]
    offer = client.get("/api/v1/offers", headers=h).get_json()[0]
    assert client.post(f"/api/v1/offers/{offer['id']}/accept", headers=h).status_code == 200
    assert client.post(f"/api/v1/requests/{rid}/progress", json={"status": "completed", "lat": 25.0, "lon": 113.0},
                       headers=h).get_json()["error"]["code"] == "invalid_transition"
    assert client.post(f"/api/v1/requests/{rid}/progress", json={"status": "en_route"}, headers=h).status_code == 200
    no_position = client.post(f"/api/v1/requests/{rid}/progress", json={"status": "in_service"}, headers=h)
    assert no_position.status_code == 422
    com = world["community"]
    far = client.post(f"/api/v1/requests/{rid}/progress",
                      json={"status": "in_service", "lat": com.lat + 0.02, "lon": com.lon}, headers=h)
    assert far.status_code == 200 and far.get_json()["checkin_flagged"] is True
    done = client.post(f"/api/v1/requests/{rid}/progress",
                       json={"status": "completed", "lat": com.lat, "lon": com.lon, "note": "送餐完成"}, headers=h)
    assert done.get_json()["status"] == "completed"
    after = client.get(f"/api/v1/requests/{rid}", headers=h).get_json()
    assert after["address"] is None and after["senior_phone"] is None
    assert client.get(f"/api/v1/requests/{rid}", headers=world["senior_h"]).get_json()["address"].endswith("1栋")


def test_rating_once_after_completion_updates_the_provider(client, world, session):
    rid = book(client, world).get_json()["id"]
    h = world["provider_h"][0]
    offer = client.get("/api/v1/offers", headers=h).get_json()[0]
    client.post(f"/api/v1/offers/{offer['id']}/accept", headers=h)
    early = client.post(f"/api/v1/requests/{rid}/rating", json={"stars": 5}, headers=world["senior_h"])
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "not_completed"
    com = world["community"]
    for status in ("in_service", "completed"):
        client.post(f"/api/v1/requests/{rid}/progress", json={"status": status, "lat": com.lat, "lon": com.lon}, headers=h)
    assert client.post(f"/api/v1/requests/{rid}/rating", json={"stars": 4}, headers=world["senior_h"]).status_code == 201
    again = client.post(f"/api/v1/requests/{rid}/rating", json={"stars": 5}, headers=world["senior_h"])
    assert again.status_code == 409
    assert client.post(f"/api/v1/requests/{rid}/rating", json={"stars": 6}, headers=world["senior_h"]).status_code == 422
    pid = world["providers"][0].id
    profile = client.get(f"/api/v1/providers/{pid}", headers=world["staff_h"]).get_json()
    assert profile["rating_count"] == 1 and profile["rating_avg"] == 4.0


def test_idempotent_booking_returns_the_first_response_and_books_once(client, world, session):
    headers = {**world["senior_h"], "Idempotency-Key": "book-1"}
    body = {"senior_id": world["senior"].id, "service_type": "meal"}
    first = client.post("/api/v1/requests", json=body, headers=headers)
    second = client.post("/api/v1/requests", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true" and second.get_json()["id"] == first.get_json()["id"]
    reused = client.post("/api/v1/requests", json={**body, "notes": "另一单"}, headers=headers)
    assert reused.status_code == 422 and reused.get_json()["error"]["code"] == "idempotency_key_reused"
    f.fresh(session)
    assert len(session.exec(select(ServiceRequest)).all()) == 1


def test_a_failed_booking_does_not_burn_its_idempotency_key(client, world):
    headers = {**world["senior_h"], "Idempotency-Key": "book-2"}
    bad = client.post("/api/v1/requests", json={"senior_id": 999999, "service_type": "meal"}, headers=headers)
    assert bad.status_code == 404
    body = {"senior_id": world["senior"].id, "service_type": "meal"}
    assert client.post("/api/v1/requests", json=body, headers=headers).status_code == 201


def test_staff_book_for_a_senior_without_a_phone_and_others_may_not(client, world, session):
    com = world["community"]
    offline = f.senior(session, com, name="李奶奶")
    unlinked = f.user(session, Role.FAMILY)
    linked_no_rights = f.user(session, Role.FAMILY)
    f.family_link(session, offline, linked_no_rights, can_book=False)
    session.commit()
    body = {"senior_id": offline.id, "service_type": "meal"}
    assert client.post("/api/v1/requests", json=body, headers=world["staff_h"]).status_code == 201
    assert client.post("/api/v1/requests", json=body, headers=f.login(client, unlinked.phone)).status_code == 404
    assert client.post("/api/v1/requests", json=body, headers=f.login(client, linked_no_rights.phone)).status_code == 403
    assert client.post("/api/v1/requests", json=body, headers=world["senior_h"]).status_code == 404
    assert client.post("/api/v1/requests", json=body, headers=world["provider_h"][0]).status_code == 404


def test_booking_input_errors_are_422_and_book_nothing(client, world, session):
    cases = [{"service_type": "massage"}, {"scheduled_start": "2020-01-01T08:00:00+08:00"},
             {"duration_minutes": 5}, {"scheduled_start": "not a time"}, {"surprise": 1}]
    for extra in cases:
        r = book(client, world, **extra)
        assert r.status_code == 422, extra
        assert set(r.get_json()) == {"error"}
    f.fresh(session)
    assert session.exec(select(ServiceRequest)).all() == []


def test_naive_times_are_read_as_shanghai_time(client, world):
    start = (utcnow() + timedelta(days=5)).astimezone().replace(tzinfo=None)
    r = book(client, world, scheduled_start=start.strftime("%Y-%m-%dT09:00:00"))
    assert r.status_code == 201
    assert r.get_json()["scheduled_start"].endswith("01:00:00Z")  # 09:00 in Shanghai is 01:00 UTC
    assert r.get_json()["status"] == "pending"  # beyond the 48 h dispatch horizon: offered later


def test_severe_care_level_widens_the_first_wave(client, world, session):
    senior = session.get(type(world["senior"]), world["senior"].id)
    senior.care_level = CareLevel.SEVERE
    session.add(senior)
    session.commit()
    book(client, world)
    offered = [len(client.get("/api/v1/offers", headers=h).get_json()) for h in world["provider_h"]]
    assert sum(offered) == 5  # 3 + one per priority step (severe = 3), capped by the five available


def test_senior_cancels_and_offered_providers_lose_their_offers(client, world):
    rid = book(client, world).get_json()["id"]
    r = client.post(f"/api/v1/requests/{rid}/cancel", json={"reason": "家人已到"}, headers=world["senior_h"])
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    assert all(client.get("/api/v1/offers", headers=h).get_json() == [] for h in world["provider_h"])
    again = client.post(f"/api/v1/requests/{rid}/cancel", json={}, headers=world["senior_h"])
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "invalid_transition"


def test_provider_dropping_out_redispatches_to_others_and_costs_credit(client, world, session):
    rid = book(client, world).get_json()["id"]
    h = world["provider_h"][0]
    offer = client.get("/api/v1/offers", headers=h).get_json()[0]
    client.post(f"/api/v1/offers/{offer['id']}/accept", headers=h)
    r = client.post(f"/api/v1/requests/{rid}/cancel", json={"reason": "车坏了"}, headers=h)
    assert r.status_code == 200 and r.get_json()["status"] == "offering" and r.get_json()["provider_id"] is None
    assert client.get("/api/v1/offers", headers=h).get_json() == []
    assert [len(client.get("/api/v1/offers", headers=x).get_json()) for x in world["provider_h"][1:]] == [1, 1, 1, 0]
    f.fresh(session)
    assert session.get(type(world["providers"][0]), world["providers"][0].id).credit_score == 90  # docs/credit.md


def test_blacklisting_an_assigned_provider_sends_the_visit_back_to_dispatch(client, world, session):
    rid = book(client, world).get_json()["id"]
    h = world["provider_h"][0]
    offer = client.get("/api/v1/offers", headers=h).get_json()[0]
    client.post(f"/api/v1/offers/{offer['id']}/accept", headers=h)
    pid = world["providers"][0].id
    r = client.post(f"/api/v1/providers/{pid}/blacklist", json={"reason": "虚报服务"}, headers=world["staff_h"])
    f.fresh(session)
    assert r.status_code == 200 and r.get_json()["status"] == ProviderStatus.BLACKLISTED
    request = client.get(f"/api/v1/requests/{rid}", headers=world["senior_h"]).get_json()
    assert request["status"] == "offering" and request["provider_id"] is None
    offered_to = {o.provider_id for o in session.exec(select(Offer).where(Offer.request_id == rid,
                                                                         Offer.status == "offered")).all()}
    assert pid not in offered_to and len(offered_to) == 3
    assert r.get_json()["status_changed_at"] is not None
    # Never offered work again: a new booking nearby (the blacklisted one is the nearest) passes them by.
    com = world["community"]
    other_owner = f.user(session, Role.SENIOR)
    other_id = f.senior(session, com, owner=other_owner, lat=com.lat + 0.001).id
    session.commit()
    other = client.post("/api/v1/requests", json={"senior_id": other_id, "service_type": "meal"},
                        headers=f.login(client, other_owner.phone))
    assert other.status_code == 201 and other.get_json()["status"] == "offering"
    assert client.get("/api/v1/offers", headers=h).get_json() == []
    f.fresh(session)
    fresh_offers = {o.provider_id for o in session.exec(select(Offer).where(
        Offer.request_id == other.get_json()["id"])).all()}
    assert pid not in fresh_offers and len(fresh_offers) == 3


def test_no_double_booking_of_overlapping_visits(client, world, session):
    com = world["community"]
    other_owner = f.user(session, Role.SENIOR)
    other = f.senior(session, com, owner=other_owner, lat=com.lat + 0.001)
    session.commit()
    start = (utcnow() + timedelta(hours=3)).isoformat()
    first = book(client, world, scheduled_start=start).get_json()["id"]
    second = client.post("/api/v1/requests", json={"senior_id": other.id, "service_type": "meal",
                                                    "scheduled_start": start},
                         headers=f.login(client, other_owner.phone)).get_json()["id"]
    h = world["provider_h"][0]
    offers = {o["request_id"]: o["id"] for o in client.get("/api/v1/offers", headers=h).get_json()}
    assert set(offers) == {first, second}
    assert client.post(f"/api/v1/offers/{offers[first]}/accept", headers=h).status_code == 200
    clash = client.post(f"/api/v1/offers/{offers[second]}/accept", headers=h)
    assert clash.status_code == 409 and clash.get_json()["error"]["code"] == "provider_busy"
    status = client.get(f"/api/v1/requests/{second}", headers=world["staff_h"]).get_json()["status"]
    assert status == "offering"


def test_staff_assign_an_escalated_request_by_hand(client, world, session):
    com = world["community"]
    far_senior = f.senior(session, com, lat=com.lat + 1.0, name="张爷爷")  # ~110 km away: nobody covers it
    session.commit()
    r = client.post("/api/v1/requests", json={"senior_id": far_senior.id, "service_type": "meal"},
                    headers=world["staff_h"])
    assert r.get_json()["status"] == "escalated"
    listed = client.get("/api/v1/center/requests?status=escalated", headers=world["staff_h"]).get_json()
    assert [x["id"] for x in listed] == [r.get_json()["id"]]
    assert client.get("/api/v1/center/requests", headers=world["senior_h"]).status_code == 403
    pid = world["providers"][4].id
    done = client.post(f"/api/v1/center/requests/{r.get_json()['id']}/assign", json={"provider_id": pid},
                       headers=world["staff_h"])
    assert done.status_code == 200 and done.get_json()["provider_id"] == pid and done.get_json()["status"] == "assigned"


def test_a_provider_sanctioned_elsewhere_cannot_accept_an_offer_still_open(client, world, session):
    """Another process suspended them a moment ago; the offer was not yet withdrawn here."""
    book(client, world)
    h = world["provider_h"][0]
    offer = client.get("/api/v1/offers", headers=h).get_json()[0]
    provider = f.fresh(session).get(type(world["providers"][0]), world["providers"][0].id)
    provider.status = ProviderStatus.SUSPENDED
    session.add(provider)
    session.commit()
    r = client.post(f"/api/v1/offers/{offer['id']}/accept", headers=h)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "provider_not_verified"
