"""Push over HTTP: the public key, subscriptions and their SSRF refusals, preferences, and a booking
that reaches the provider's phone as a push to a real endpoint on 127.0.0.1."""
from __future__ import annotations

import pytest

from dispatch.catalog import Role
from server.notify import notifier_of
from server.notify.endpoints import EndpointPolicy
from server.state import state
from tests import factories as f
from tests.conftest import test_settings as settings_for
from tests.pushkit import Endpoint, Subscriber, b64, unb64


@pytest.fixture
def endpoint():
    server = Endpoint()
    yield server
    server.close()


@pytest.fixture
def app(tmp_path, engine, endpoint):
    from server import create_app

    app = create_app(settings_for(tmp_path, push_allowed_hosts=(endpoint.host,)), engine=engine)
    yield app
    state(app).relay.stop()


@pytest.fixture
def family(session, client):
    user = f.user(session, Role.FAMILY)
    session.commit()
    return f.login(client, user.phone)


def test_public_key_is_the_uncompressed_p256_point(client):
    key = client.get("/api/v1/push/public-key").get_json()["public_key"]
    assert len(unb64(key)) == 65 and unb64(key)[0] == 4
    assert client.get("/api/v1/push/public-key").get_json()["public_key"] == key  # kept, not made anew


def test_subscribe_list_and_unsubscribe_several_devices(app, client, family, endpoint):
    phone, tablet = Subscriber(endpoint.url("/p/1")), Subscriber(endpoint.url("/p/2"))
    for sub in (phone, tablet):
        r = client.post("/api/v1/push/subscriptions", json={**sub.subscription(), "expirationTime": None},
                        headers=family)
        assert r.status_code == 201 and r.get_json()["endpoint"] == sub.endpoint
    assert len(client.get("/api/v1/push/subscriptions", headers=family).get_json()) == 2
    r = client.delete("/api/v1/push/subscriptions", json={"endpoint": phone.endpoint}, headers=family)
    assert r.status_code == 204
    assert [s["endpoint"] for s in client.get("/api/v1/push/subscriptions", headers=family).get_json()] == [
        tablet.endpoint]
    assert client.delete("/api/v1/push/subscriptions", json={"endpoint": phone.endpoint},
                         headers=family).status_code == 404
    assert app.test_client().post("/api/v1/push/subscriptions", json=phone.subscription()).status_code == 401


@pytest.mark.parametrize("url", [
    "http://fcm.googleapis.com/fcm/send/abc",  # plain http on a known host
    "https://evil.example.com/push",  # not a push service
    "https://127.0.0.1/push", "https://10.0.0.7/push", "https://[::1]/push", "http://169.254.169.254/latest",
    "https://user:pw@fcm.googleapis.com/fcm/send/abc", "file:///etc/passwd", "gopher://fcm.googleapis.com/",
    "https://fcm.googleapis.com.evil.example.com/x",
])
def test_endpoints_that_are_not_push_services_are_refused(client, family, url):
    body = {**Subscriber(url).subscription()}
    r = client.post("/api/v1/push/subscriptions", json=body, headers=family)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "push_endpoint_refused", url


def test_a_known_host_that_resolves_to_a_private_address_is_refused(app, client, family):
    addresses = {"fcm.googleapis.com": ["10.1.2.3"], "updates.push.services.mozilla.com": ["34.117.0.1"]}
    state(app).extras["push_policy"] = EndpointPolicy(resolver=lambda host, port: addresses[host])
    bad = Subscriber("https://fcm.googleapis.com/fcm/send/x").subscription()
    r = client.post("/api/v1/push/subscriptions", json=bad, headers=family)
    assert r.status_code == 422 and "private" in r.get_json()["error"]["message"]
    good = Subscriber("https://updates.push.services.mozilla.com/wpush/v2/x").subscription()
    assert client.post("/api/v1/push/subscriptions", json=good, headers=family).status_code == 201


def test_bad_keys_are_422(client, family, endpoint):
    body = Subscriber(endpoint.url()).subscription()
    body["keys"]["p256dh"] = b64(b"\x04" + b"\x01" * 64)  # not a point on the curve
    assert client.post("/api/v1/push/subscriptions", json=body, headers=family).status_code == 422


def test_preferences_default_then_change_and_clear(client, family):
    assert client.get("/api/v1/push/preferences", headers=family).get_json() == {
        "push": True, "sms": True, "quiet_start": None, "quiet_end": None}
    r = client.put("/api/v1/push/preferences", json={"sms": False, "quiet_start": "22:00", "quiet_end": "07:00"},
                   headers=family)
    assert r.status_code == 200 and r.get_json() == {"push": True, "sms": False, "quiet_start": "22:00",
                                                     "quiet_end": "07:00"}
    assert client.put("/api/v1/push/preferences", json={"quiet_start": "22:00"}, headers=family).status_code == 422
    assert client.put("/api/v1/push/preferences", json={"quiet_start": "25:00", "quiet_end": "07:00"},
                      headers=family).status_code == 422
    r = client.put("/api/v1/push/preferences", json={"quiet_start": None, "quiet_end": None}, headers=family)
    assert r.get_json()["quiet_start"] is None and r.get_json()["sms"] is False


def test_a_booking_reaches_the_providers_phone_and_a_taken_offer_replaces_it(app, client, session, endpoint):
    com = f.first_community(session)
    owner = f.user(session, Role.SENIOR)
    senior = f.senior(session, com, owner=owner)
    provider = f.on_duty_provider(session, com, km_east=0.3)
    phone = f.phone_of(session, provider.user_id)
    session.commit()
    senior_h, provider_h = f.login(client, owner.phone), f.login(client, phone)
    sub = Subscriber(endpoint.url("/p/provider"))
    assert client.post("/api/v1/push/subscriptions", json=sub.subscription(), headers=provider_h).status_code == 201
    notifier = notifier_of(state(app))
    notifier.run_once()  # starts from here: nothing before this is sent
    r = client.post("/api/v1/requests", json={"senior_id": senior.id, "service_type": "meal"}, headers=senior_h)
    assert r.status_code == 201
    notifier.run_once()
    [got] = endpoint.wait_for(1)
    message = sub.decrypt(got.body)
    offer_id = client.get("/api/v1/offers", headers=provider_h).get_json()[0]["id"]
    assert message["kind"] == "offer" and message["ids"] == {"offer_id": offer_id, "request_id": r.get_json()["id"]}
    assert senior.address not in got.body.decode("latin-1") and "1栋" not in str(message)
    assert got.headers["Topic"] == f"offer{offer_id}" and got.headers["Urgency"] == "high"
    assert client.post(f"/api/v1/offers/{offer_id}/accept", headers=provider_h).status_code == 200
    notifier.run_once()
    mine = client.get("/api/v1/push/deliveries", headers=provider_h).get_json()
    assert [d["kind"] for d in mine][:2] == ["request_assigned", "offer"] and {d["status"] for d in mine} == {"sent"}
