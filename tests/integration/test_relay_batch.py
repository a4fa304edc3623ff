"""The relay's emits of one claim go to Redis in one round trip (server.relay.emit_batch), as the
same messages, in the same order, that one emit each would publish."""
from __future__ import annotations

import json
import os
import random
import time
import uuid

import pytest
import redis
import socketio

from server.relay import emit_batch

REDIS_BASE = os.environ.get("LINLI_TEST_REDIS_URL", "redis://127.0.0.1:6379")
ITEMS = [("request_updated", {"event_id": 11, "type": "request_updated", "request": {"id": 3, "status": "offering"}},
          "user:7"),
         ("request_updated", {"event_id": 12, "type": "request_updated", "request": {"id": 3}}, "community:2"),
         ("offer_new", {"event_id": 13, "type": "offer_new", "offer": {"id": 9, "distance_km": 1.5}}, "user:40")]


@pytest.fixture
def queue():
    """A python-socketio server on a Redis channel of its own, and a subscriber to that channel."""
    from tests.conftest import IN_CI

    url = f"{REDIS_BASE}/{random.randint(1, 15)}"
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as exc:  # any failure to reach it means "not here"
        if IN_CI:
            pytest.fail(f"Redis unreachable in CI: {exc}")
        pytest.skip(f"Redis unreachable: {exc}")
    channel = f"linli-batch-{uuid.uuid4().hex}"
    listener = client.pubsub(ignore_subscribe_messages=True)
    listener.subscribe(channel)
    server = socketio.Server(client_manager=socketio.RedisManager(url, channel=channel), async_mode="threading")
    yield server, listener
    listener.close()
    client.close()


def _published(listener, n: int) -> list[dict]:
    got, deadline = [], time.monotonic() + 10
    while len(got) < n and time.monotonic() < deadline:
        message = listener.get_message(timeout=1)
        if message is not None:
            got.append(json.loads(message["data"]))
    return got


@pytest.mark.redis
def test_a_claims_emits_reach_redis_in_one_round_trip_as_the_same_messages(queue, monkeypatch):
    server, listener = queue
    for name, payload, room in ITEMS:  # one emit each, as before
        server.emit(name, payload, to=room)
    one_by_one = _published(listener, len(ITEMS))

    manager = server.manager
    local, trips = [], []
    real_handle = manager._handle_emit
    monkeypatch.setattr(manager, "_handle_emit", lambda message: (local.append(message["room"]), real_handle(message)))
    real_execute, real_command = redis.client.Pipeline.execute, redis.Redis.execute_command
    monkeypatch.setattr(redis.client.Pipeline, "execute", lambda self, *a, **k: (trips.append("pipeline"),
                                                                                   real_execute(self, *a, **k))[1])
    monkeypatch.setattr(redis.Redis, "execute_command", lambda self, *a, **k: (trips.append(a[0]),
                                                                              real_command(self, *a, **k))[1])
    emit_batch(server, ITEMS)
    batched = _published(listener, len(ITEMS))

    assert trips == ["pipeline"]
    assert local == [room for _name, _payload, room in ITEMS]  # this process's sockets, in order
    assert [{k: v for k, v in m.items()} for m in batched] == one_by_one  # host_id is this server's in both
    assert [m["data"][0]["event_id"] for m in batched] == [11, 12, 13]


@pytest.mark.redis
def test_one_emit_is_published_as_before(queue, monkeypatch):
    server, listener = queue
    emit_batch(server, ITEMS[:1])
    server.emit(*ITEMS[0][:2], to=ITEMS[0][2])
    first, second = _published(listener, 2)
    assert first == second


def test_without_a_queue_each_emit_goes_to_the_server():
    sent = []

    class Server:
        manager = object()

        def emit(self, name, payload, to=None, namespace=None):
            sent.append((name, payload["event_id"], to, namespace))

    emit_batch(Server(), ITEMS)
    assert sent == [(name, payload["event_id"], room, "/") for name, payload, room in ITEMS]
