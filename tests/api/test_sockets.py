"""Socket.IO: who may connect, what a booking tells whom, replay by last_event_id, withdrawals,
and (on a real `linli serve`) the Origin allow-list and booking-to-offer over the wire.

The relay is drained by hand (its automatic kick is switched off) so every test is deterministic;
test_real_server_* run a real server where the relay works on its own.
"""
from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace

import pytest
import socketio as socketio_client
from sqlmodel import select

from dispatch.catalog import Role
from models.engine import write_session
from models.events import Event
from models.requests import Offer
from server.sockets import socketio
from server.state import state
from tests import factories as f
from tests.conftest import sqlite_engine


@pytest.fixture
def relay(app, monkeypatch):
    """The app's relay, kicked by nobody but the test (relay.drain())."""
    r = state(app).relay
    monkeypatch.setattr(r, "kick", lambda: None)
    return r


def connect(app, token: str | None = None, *, last_event_id: int | None = None, **kw):
    auth = {}
    if token is not None:
        auth["token"] = token
    if last_event_id is not None:
        auth["last_event_id"] = last_event_id
    return socketio.test_client(app, auth=auth or None, **kw)


def received(sio) -> list[tuple[str, dict]]:
    """(event name, payload) for everything this test client got since the last call."""
    return [(m["name"], m["args"][0] if m["args"] else None) for m in sio.get_received()]


def of_type(events, name: str) -> list[dict]:
    return [payload for n, payload in events if n == name]


def keys_anywhere(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_anywhere(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_anywhere(v)}
    return set()


def book(client, headers: dict, senior_id: int, service_type: str = "meal") -> dict:
    r = client.post("/api/v1/requests", json={"senior_id": senior_id, "service_type": service_type}, headers=headers)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


@pytest.fixture
def world(session):
    """A senior with an account in community c; five on-duty providers 0.3–4 km away, a nearer one
    off duty, one on duty in another district; staff of c and of the other community."""
    c = f.first_community(session)
    other = f.other_community(session, c)
    w = SimpleNamespace(c=c, other=other)
    w.senior_user = f.user(session, Role.SENIOR, name="王秀兰")
    w.senior = f.senior(session, c, owner=w.senior_user, phone=f.next_phone())
    w.providers = [f.provider_on_duty_at(session, c, lat=lat, lon=lon)
                   for lat, lon in (f.offset(c.lat, c.lon, north_km=km) for km in (0.3, 1.0, 2.0, 3.0, 4.0))]
    w.off_duty = f.provider(session, c, lat=f.offset(c.lat, c.lon, east_km=0.1)[0])
    w.elsewhere = f.provider_on_duty_at(session, other)
    w.staff = f.staff(session, c)
    w.other_staff = f.staff(session, other)
    w.h_senior = f.bearer(session, w.senior_user)
    w.tokens = {}
    for name, user_id in [("senior", w.senior_user.id), ("staff", w.staff.id), ("other_staff", w.other_staff.id),
                          ("off_duty", w.off_duty.user_id), ("elsewhere", w.elsewhere.user_id),
                          *((f"p{i}", p.user_id) for i, p in enumerate(w.providers))]:
        from models.accounts import User

        w.tokens[name] = f.token_of(f.bearer(session, session.get(User, user_id)))
    w.provider_headers = [{"Authorization": f"Bearer {w.tokens[f'p{i}']}"} for i in range(len(w.providers))]
    session.commit()
    return w


def test_connect_without_or_with_bad_credentials_is_refused(app, session, relay):
    revoked = f.token_of(f.bearer(session, f.user(session, Role.PROVIDER), revoked=True))
    expired = f.token_of(f.bearer(session, f.user(session, Role.PROVIDER), days=-1))
    session.commit()
    for auth in (None, {}, {"token": ""}, {"token": "not-a-token"}, {"token": 12345}, {"token": revoked},
                 {"token": expired}, {"last_event_id": 0}):
        sio = socketio.test_client(app, auth=auth)
        assert not sio.is_connected(), auth
        assert [m["name"] for m in sio.queue] == [], auth  # no "ready", no replay


def test_connect_with_a_good_bearer_token_gets_ready(app, session, relay):
    user = f.user(session, Role.PROVIDER)
    token = f.token_of(f.bearer(session, user))
    session.commit()
    sio = connect(app, token)
    assert sio.is_connected()
    assert received(sio) == [("ready", {"user_id": user.id, "role": "provider"})]
    sio.disconnect()


def test_connect_with_the_session_cookie(app, client, session, relay):
    user = f.user(session, Role.SENIOR)
    session.commit()
    f.login(client, user.phone)  # sets the HttpOnly session cookie on the test client
    sio = socketio.test_client(app, flask_test_client=client)
    assert sio.is_connected()
    assert received(sio) == [("ready", {"user_id": user.id, "role": "senior"})]
    sio.disconnect()
    client.set_cookie("linli_session", "forged")
    assert not socketio.test_client(app, flask_test_client=client).is_connected()


def test_a_booking_offers_the_nearest_on_duty_provider_and_tells_senior_and_staff(app, client, world, fresh,
                                                                                 relay):
    w = world
    clients = {name: connect(app, token) for name, token in w.tokens.items()}
    assert all(s.is_connected() for s in clients.values())
    for s in clients.values():
        assert [n for n, _ in received(s)] == ["ready"]

    request = book(client, w.h_senior, w.senior.id)
    assert relay.drain() > 0
    got = {name: received(s) for name, s in clients.items()}

    with fresh() as s:
        offers = {o.provider_id: o for o in s.exec(select(Offer).where(Offer.request_id == request["id"])).all()}
    assert w.providers[0].id in offers, "the nearest on-duty provider is in the first wave"
    assert w.off_duty.id not in offers and w.elsewhere.id not in offers
    for i, p in enumerate(w.providers):
        created = of_type(got[f"p{i}"], "offer_created")
        if p.id not in offers:
            assert got[f"p{i}"] == []
            continue
        assert [n for n, _ in got[f"p{i}"]] == ["offer_created"]
        (event,) = created
        assert isinstance(event["event_id"], int) and not isinstance(event["event_id"], bool)
        assert event["type"] == "offer_created"
        offer = event["offer"]
        assert offer["id"] == offers[p.id].id and offer["request_id"] == request["id"]
        assert offer["distance_km"] == pytest.approx(offers[p.id].distance_km)
        assert set(offer["area"]) >= {"lat", "lon"}
        assert offer["area"]["community"]  # the same coarse area GET /offers shows: its community's name
        assert not {k for k in keys_anywhere(event) if "address" in k or "phone" in k}, event
    assert of_type(got["p0"], "offer_created")[0]["offer"]["distance_km"] == pytest.approx(0.3, abs=0.05)

    # The senior's side: request_updated for the booking, nothing about offers.
    assert [n for n, _ in got["senior"]] == ["request_updated"]
    update = got["senior"][0][1]
    assert update["type"] == "request_updated" and update["request"]["id"] == request["id"]
    assert update["request"]["status"] == "offering"

    # The community's staff (their community room): request_updated and dashboard_updated.
    assert sorted(n for n, _ in got["staff"]) == ["dashboard_updated", "request_updated"]
    assert of_type(got["staff"], "request_updated")[0]["request"]["id"] == request["id"]
    assert of_type(got["staff"], "dashboard_updated")[0]["community_id"] == w.c.id

    # Nobody else hears of it: other community's staff, an off-duty provider, a provider elsewhere.
    assert got["other_staff"] == [] and got["off_duty"] == [] and got["elsewhere"] == []

    # No address or phone travels in any event, to anyone.
    secrets = {w.senior.address, w.senior.phone, w.senior_user.phone}
    for name, events in got.items():
        for _, payload in events:
            blob = json.dumps(payload, ensure_ascii=False)
            assert not any(secret in blob for secret in secrets), (name, payload)
            for holder in (payload.get("request") or {}, payload.get("offer") or {}):
                assert all(holder.get(k) is None for k in keys_anywhere(holder) if "address" in k or "phone" in k)
    ids = [p["event_id"] for events in got.values() for _, p in events]
    assert len(ids) == len(set(ids))
    for s in clients.values():
        s.disconnect()


def events_for(fresh, user_id: int, after: int) -> list[int]:
    with fresh() as s:
        return list(s.exec(select(Event.id).where(Event.user_id == user_id, Event.id > after)
                           .order_by(Event.id)).all())


def test_reconnect_with_last_event_id_replays_exactly_the_missed_events_in_order(app, client, world, fresh,
                                                                                relay):
    w, nearest = world, world.providers[0]
    sio = connect(app, w.tokens["p0"])
    received(sio)
    book(client, w.h_senior, w.senior.id)
    relay.drain()
    (first,) = of_type(received(sio), "offer_created")
    last = first["event_id"]
    sio.disconnect()

    missed = [book(client, w.h_senior, w.senior.id, st)["id"] for st in ("cleaning", "meal")]
    relay.drain()  # emitted while the provider was away: nobody gets them live
    expected = events_for(fresh, nearest.user_id, last)
    assert len(expected) == 2

    again = connect(app, w.tokens["p0"], last_event_id=last)
    got = received(again)
    assert [n for n, _ in got] == ["offer_created", "offer_created", "ready"]
    assert [p["event_id"] for _, p in got[:-1]] == expected
    assert [p["offer"]["request_id"] for _, p in got[:-1]] == missed
    assert relay.drain() == 0 and received(again) == []
    again.disconnect()

    # A reconnect from the newest event id replays nothing.
    latest = connect(app, w.tokens["p0"], last_event_id=expected[-1])
    assert received(latest) == [("ready", {"user_id": nearest.user_id, "role": "provider"})]
    latest.disconnect()


def test_replay_of_events_not_yet_relayed_is_not_delivered_twice(app, client, world, fresh, relay):
    w, nearest = world, world.providers[0]
    sio = connect(app, w.tokens["p0"])
    received(sio)
    book(client, w.h_senior, w.senior.id)
    relay.drain()
    last = of_type(received(sio), "offer_created")[0]["event_id"]
    sio.disconnect()

    book(client, w.h_senior, w.senior.id, "cleaning")  # committed, not relayed yet
    expected = events_for(fresh, nearest.user_id, last)
    again = connect(app, w.tokens["p0"], last_event_id=last)
    relay.drain()
    got = received(again)
    ids = [p["event_id"] for n, p in got if n != "ready"]
    assert ids == expected, got
    again.disconnect()


def test_staff_replay_covers_their_community_room(app, client, world, relay):
    w = world
    book(client, w.h_senior, w.senior.id)
    relay.drain()
    sio = connect(app, w.tokens["staff"], last_event_id=0)
    names = [n for n, _ in received(sio)]
    assert names[-1] == "ready" and {"request_updated", "dashboard_updated"} <= set(names)
    other = connect(app, w.tokens["other_staff"], last_event_id=0)
    assert [n for n, _ in received(other)] == ["ready"]


def test_accept_withdraws_the_other_offers_as_taken(app, client, world, fresh, relay):
    w = world
    clients = [connect(app, w.tokens[f"p{i}"]) for i in range(len(w.providers))]
    for s in clients:
        received(s)
    request = book(client, w.h_senior, w.senior.id)
    relay.drain()
    offered = {}
    for i, s in enumerate(clients):
        for event in of_type(received(s), "offer_created"):
            offered[i] = event["offer"]["id"]
    assert len(offered) >= 2, "the first wave has several providers"
    winner = 0
    r = client.post(f"/api/v1/offers/{offered[winner]}/accept", headers=w.provider_headers[winner])
    assert r.status_code == 200, r.get_json()
    relay.drain()
    for i, s in enumerate(clients):
        got = received(s)
        withdrawn = of_type(got, "offer_withdrawn")
        if i == winner:
            assert withdrawn == []
            assert of_type(got, "request_updated")[0]["request"]["status"] == "assigned"
        elif i in offered:
            assert len(withdrawn) == 1
            assert {k: withdrawn[0][k] for k in ("offer_id", "reason", "type")} == {
                "offer_id": offered[i], "reason": "taken", "type": "offer_withdrawn"}
            assert isinstance(withdrawn[0]["event_id"], int)
        else:
            assert got == []
    loser = next(i for i in offered if i != winner)
    r = client.post(f"/api/v1/offers/{offered[loser]}/accept", headers=w.provider_headers[loser])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "offer_taken"
    with fresh() as s:
        assert s.get(Offer, offered[loser]).status == "withdrawn"
    assert client.get(f"/api/v1/requests/{request['id']}", headers=w.h_senior).get_json()["status"] == "assigned"


# --- a real server -------------------------------------------------------------------------------

@pytest.fixture
def live(tmp_path):
    """`linli serve` (no scheduler) on a migrated SQLite database in tmp_path, seeded beforehand."""
    instance = tmp_path / "live-instance"
    instance.mkdir()
    engine = sqlite_engine(instance.parent)  # tmp_path/test.db, migrated
    with write_session(engine) as session:
        w = f.senior_and_provider(session, north_km=0.2)
        session.commit()
    engine.dispose()
    env = {"LINLI_INSTANCE_PATH": str(instance), "LINLI_DATABASE_URL": f"sqlite:///{tmp_path / 'test.db'}",
           "LINLI_SECRET_KEY": "live-test-secret"}
    with f.LiveServer(env, log=tmp_path / "serve.log", start_timeout=90) as server:
        yield SimpleNamespace(server=server, url=server.url, senior_id=w.senior_id, h_senior=w.h_senior,
                              provider_token=f.token_of(w.h_provider), db_url=env["LINLI_DATABASE_URL"])


def sio_client():
    return socketio_client.Client(reconnection=False)


def test_real_server_keeps_connections_alive(live):
    """`linli serve` is gevent's server: a client's requests share one connection (Werkzeug's closed each)."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", live.server.port, timeout=5)
    try:
        sockets = []
        for _ in range(3):
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            assert response.status == 200 and response.read() == b'{"status":"ok"}\n'
            assert response.getheader("Connection", "").lower() != "close"
            sockets.append(conn.sock)
        assert sockets[0] is not None and sockets.count(sockets[0]) == 3
    finally:
        conn.close()


def test_real_server_checks_the_origin(live):
    import requests

    token = {"token": live.provider_token}
    # Polling handshake (an Origin header) and WebSocket handshake (websocket-client's origin option:
    # a header would be sent beside its own default Origin): another site is refused either way.
    evil = sio_client()
    with pytest.raises(socketio_client.exceptions.ConnectionError):
        evil.connect(live.url, headers={"Origin": "http://evil.example"}, auth=token, wait_timeout=5)
    assert not evil.connected
    evil_ws = socketio_client.Client(reconnection=False, websocket_extra_options={"origin": "http://evil.example"})
    with pytest.raises(socketio_client.exceptions.ConnectionError):
        evil_ws.connect(live.url, auth=token, transports=["websocket"], wait_timeout=5)
    assert not evil_ws.connected

    own = socketio_client.Client(reconnection=False, websocket_extra_options={"origin": live.url})
    ready = threading.Event()
    own.on("ready", lambda _payload: ready.set())
    own.connect(live.url, auth=token, transports=["websocket"], wait_timeout=5)
    try:
        assert own.connected and ready.wait(5)
    finally:
        own.disconnect()
    handshake = f"{live.url}/socket.io/?EIO=4&transport=polling"
    ok = requests.get(handshake, headers={"Origin": live.url}, timeout=5)
    assert ok.status_code == 200 and ok.text.startswith("0{")
    assert ok.headers.get("Access-Control-Allow-Origin") == live.url
    assert requests.get(handshake, headers={"Origin": "http://evil.example"}, timeout=5).status_code == 400
    assert requests.get(handshake, headers={"Origin": live.url.replace("127.0.0.1", "127.0.0.1.evil.example")},
                        timeout=5).status_code == 400

    bad = socketio_client.Client(reconnection=False, websocket_extra_options={"origin": live.url})
    with pytest.raises(socketio_client.exceptions.ConnectionError):
        bad.connect(live.url, auth={"token": "nope"}, transports=["websocket"], wait_timeout=5)


def test_real_server_delivers_offer_created_after_an_http_booking(live):
    import requests

    arrived: dict[int, tuple[float, dict]] = {}
    got = threading.Condition()
    ready = threading.Event()
    sio = sio_client()

    @sio.on("offer_created")
    def _offer(payload):
        with got:
            arrived.setdefault(payload["offer"]["request_id"], (time.perf_counter(), payload))
            got.notify_all()

    sio.on("ready", lambda _payload: ready.set())
    sio.connect(live.url, auth={"token": live.provider_token}, transports=["websocket"], wait_timeout=5)
    try:
        assert ready.wait(5)
        t0 = time.perf_counter()
        r = requests.post(f"{live.url}/api/v1/requests", json={"senior_id": live.senior_id, "service_type": "meal"},
                          headers=live.h_senior, timeout=5)
        assert r.status_code == 201, r.text
        request_id = r.json()["id"]
        with got:
            assert got.wait_for(lambda: request_id in arrived, timeout=5), live.server.log_tail()
        at, payload = arrived[request_id]
        assert at - t0 < 5
        offers = requests.get(f"{live.url}/api/v1/offers",
                              headers={"Authorization": f"Bearer {live.provider_token}"}, timeout=5).json()
        assert payload["offer"]["id"] in [o["id"] for o in offers if o["request_id"] == request_id]
        assert not {k for k in keys_anywhere(payload) if "address" in k or "phone" in k}
    finally:
        sio.disconnect()


def test_real_server_replays_what_a_provider_missed_while_away(live):
    """Over real connections: the provider's client drops, a booking is offered to them meanwhile,
    and reconnecting with the last event_id it saw brings exactly the missed offer_created."""
    import requests

    def connect(auth):
        seen, ready = [], threading.Event()
        sio = sio_client()
        sio.on("offer_created", lambda payload: seen.append(payload))
        sio.on("ready", lambda _payload: ready.set())
        sio.connect(live.url, auth=auth, transports=["websocket"], wait_timeout=5)
        assert ready.wait(5)
        return sio, seen

    def book():
        r = requests.post(f"{live.url}/api/v1/requests", json={"senior_id": live.senior_id, "service_type": "meal"},
                          headers=live.h_senior, timeout=5)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    sio, seen = connect({"token": live.provider_token})
    try:
        first = book()
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [p["offer"]["request_id"] for p in seen] == [first], live.server.log_tail()
    finally:
        sio.disconnect()
    missed = book()  # offered while the provider is away
    sio, replayed = connect({"token": live.provider_token, "last_event_id": seen[-1]["event_id"]})
    try:
        # The replay comes before ready: it is all here already.
        assert [p["offer"]["request_id"] for p in replayed] == [missed]
        assert replayed[0]["event_id"] > seen[-1]["event_id"]
    finally:
        sio.disconnect()


# --- last_event_id is checked ----------------------------------------------------------------------

@pytest.mark.parametrize("bad", [10**30, 2**63, -1, 1.5, 7.0, True, False, "12", "", [3], {"id": 3}])
def test_a_bad_last_event_id_is_refused_cleanly(app, session, relay, bad):
    """10**30 raised in the server (an integer SQLite cannot bind); -1, floats, booleans and strings
    were silently ignored. Each is refused with a reason, and nothing is replayed or joined."""
    user = f.user(session, Role.PROVIDER)
    token = f.token_of(f.bearer(session, user))
    session.commit()
    sio = connect(app, token, last_event_id=bad)
    assert not sio.is_connected(), bad
    assert sio.queue == []
    good = connect(app, token, last_event_id=2**63 - 1)  # the largest event id there can be
    assert received(good) == [("ready", {"user_id": user.id, "role": "provider"})]
    good.disconnect()


# --- a socket ends with its sign-in ------------------------------------------------------------------

def queued(sio) -> list[tuple[str, dict]]:
    """What a test client that the server disconnected got before it (received() needs a connection)."""
    return [(m["name"], m["args"][0] if m["args"] else None) for m in sio.queue]


def signed_in_twice(session, role=Role.SENIOR):
    user = f.user(session, role)
    tokens = [f.token_of(f.bearer(session, user)) for _ in range(3)]
    session.commit()
    return user, tokens


def test_logout_disconnects_that_sign_ins_sockets_only(app, client, session, relay):
    _user, (a, b, _) = signed_in_twice(session)
    first, second, other = connect(app, a), connect(app, a), connect(app, b)
    for sio in (first, second, other):
        assert received(sio)[-1][0] == "ready"
    r = client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {a}"})
    assert r.status_code in (200, 204), r.get_data(as_text=True)
    relay.drain()
    for sio in (first, second):
        assert not sio.is_connected()
        assert queued(sio) == [("session_ended", {"reason": "signed_out"})]
    assert other.is_connected() and received(other) == []
    assert not connect(app, a).is_connected()  # the token is revoked: no new socket either
    other.disconnect()


def test_revoking_a_users_sessions_disconnects_all_but_the_one_kept(app, session, relay, engine):
    from server.steps.sessions import revoke_sessions

    user, (kept, b, c) = signed_in_twice(session)
    _stranger, (s_token, *_) = signed_in_twice(session)
    sockets = {name: connect(app, token) for name, token in
               (("kept", kept), ("b", b), ("c", c), ("stranger", s_token))}
    for sio in sockets.values():
        received(sio)
    with write_session(engine) as s:
        ids = revoke_sessions(s, user.id, reason="password_changed", except_token=kept)
        s.commit()
    assert len(ids) == 2
    relay.drain()  # the revocation is for the servers: no client hears of it but the ones ended
    for name in ("b", "c"):
        assert not sockets[name].is_connected()
        assert queued(sockets[name]) == [("session_ended", {"reason": "password_changed"})]
    for name in ("kept", "stranger"):
        assert sockets[name].is_connected() and received(sockets[name]) == []
    assert not connect(app, b).is_connected()
    # A reconnect that replays from the start sees no trace of the revocation.
    again = connect(app, kept, last_event_id=0)
    assert [n for n, _ in received(again)] == ["ready"]


def test_a_socket_ends_when_its_sign_in_expires(app, session, relay, monkeypatch):
    from datetime import timedelta

    import server.relay as relay_module
    from models.types import utcnow

    user = f.user(session, Role.PROVIDER)
    short = f.token_of(f.bearer(session, user, days=1))
    long = f.token_of(f.bearer(session, user, days=3))
    session.commit()
    expiring, lasting = connect(app, short), connect(app, long)
    received(expiring), received(lasting)
    relay.drain()
    assert expiring.is_connected()
    later = utcnow() + timedelta(days=2)
    monkeypatch.setattr(relay_module, "utcnow", lambda: later)
    relay.drain()
    assert not expiring.is_connected()
    assert queued(expiring) == [("session_ended", {"reason": "expired"})]
    assert lasting.is_connected() and received(lasting) == []
    lasting.disconnect()


def test_real_server_ends_sockets_on_logout_and_on_a_revocation_by_another_process(live):
    """Logout over HTTP ends that sign-in's socket at once; a revocation committed by another process
    (here: this test's, on the same database) ends them within the relay's poll (0.5 s)."""
    import requests

    from models.accounts import User
    from models.engine import make_engine
    from server.steps.sessions import revoke_sessions

    def connect(token):
        ended, ready, gone = [], threading.Event(), threading.Event()
        sio = sio_client()
        sio.on("ready", lambda _payload: ready.set())
        sio.on("session_ended", lambda payload: ended.append(payload))
        sio.on("disconnect", lambda *_: gone.set())
        sio.connect(live.url, auth={"token": token}, transports=["websocket"], wait_timeout=5)
        assert ready.wait(5)
        return sio, ended, gone

    sio, ended, gone = connect(live.provider_token)
    t0 = time.perf_counter()
    r = requests.post(f"{live.url}/api/v1/auth/logout", headers={"Authorization": f"Bearer {live.provider_token}"},
                      timeout=5)
    assert r.status_code in (200, 204), r.text
    assert gone.wait(3), live.server.log_tail()
    assert ended == [{"reason": "signed_out"}] and time.perf_counter() - t0 < 3

    engine = make_engine(live.db_url)
    with write_session(engine) as session:
        senior = session.exec(select(User).where(User.role == Role.SENIOR)).first()
        token = f.token_of(f.bearer(session, senior))
        session.commit()
    sio, ended, gone = connect(token)
    try:
        with write_session(engine) as session:
            assert len(revoke_sessions(session, senior.id, reason="account_disabled")) >= 1
            session.commit()
        assert gone.wait(3), live.server.log_tail()
        assert ended == [{"reason": "account_disabled"}]
    finally:
        sio.disconnect()
        engine.dispose()


def test_real_server_refuses_a_huge_last_event_id_with_its_code(live):
    import websocket

    url = live.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    ws = websocket.create_connection(url, origin=live.url, timeout=5)
    try:
        assert ws.recv().startswith("0{")
        ws.send("40" + json.dumps({"token": live.provider_token, "last_event_id": 10**30}))
        reply = ws.recv()
        assert reply.startswith("44"), reply  # connect_error
        assert json.loads(reply[2:])["data"] == {"code": "invalid_last_event_id"}
    finally:
        ws.close()
    assert "Traceback" not in live.server.log_tail(20_000)


def test_real_server_upgrades_a_polling_client_to_its_websocket(live):
    """As the PWA's socket.io-client connects: long-polling first, then the upgrade (2probe/3probe/5)
    onto linli serve's own WebSocket transport; events then come over it."""
    import requests

    sio, ready, offered = sio_client(), threading.Event(), threading.Event()
    sio.on("ready", lambda _payload: ready.set())
    sio.on("offer_created", lambda _payload: offered.set())
    sio.connect(live.url, auth={"token": live.provider_token}, wait_timeout=5)  # polling, then websocket
    try:
        assert ready.wait(5)
        deadline = time.monotonic() + 5
        while sio.transport() != "websocket" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sio.transport() == "websocket"
        r = requests.post(f"{live.url}/api/v1/requests", json={"senior_id": live.senior_id, "service_type": "meal"},
                          headers=live.h_senior, timeout=5)
        assert r.status_code == 201, r.text
        assert offered.wait(5), live.server.log_tail()
    finally:
        sio.disconnect()
    assert "Traceback" not in live.server.log_tail(20_000)


def test_an_app_made_after_one_with_a_queue_has_none(tmp_path, engine, session):
    """The SocketIO object is one per process: init_app kept the Redis manager of an earlier app,
    and the test client (or a lone server) of every later app went through that queue."""
    from socketio import PubSubManager, RedisManager

    from server import create_app
    from tests.conftest import test_settings

    queued = tmp_path / "queued"
    queued.mkdir()
    create_app(test_settings(queued, redis_url="redis://127.0.0.1:1/3"), engine=sqlite_engine(queued))
    assert isinstance(socketio.server.manager, RedisManager)  # never reached: nothing is emitted
    app = create_app(test_settings(tmp_path), engine=engine)
    assert not isinstance(socketio.server.manager, PubSubManager)  # python-socketio's Manager (rooms indexed)
    user = f.user(session, Role.PROVIDER)
    token = f.token_of(f.bearer(session, user))
    session.commit()
    sio = socketio.test_client(app, auth={"token": token})
    assert sio.is_connected()
    sio.disconnect()
    state(app).relay.stop()
