"""Two `linli serve` processes sharing PostgreSQL and Redis: an event written by a booking on one
reaches a Socket.IO client connected to the other, once.

Skipped when Redis or PostgreSQL is unreachable, except in CI (CI=true) where that fails.
Each run has its own schema (dropped afterwards), a Redis database number of its own choosing and
its own Socket.IO channel (pub/sub channels span database numbers); it flushes nothing.
"""
from __future__ import annotations

import contextlib
import os
import random
import threading
import time
import uuid
from types import SimpleNamespace

import pytest
import redis
import requests
import socketio
from sqlalchemy import text

from models.engine import make_engine, write_session
from server.migrate import upgrade
from tests import factories as f
from tests.conftest import IN_CI, PG_URL, _pg_reachable

pytestmark = pytest.mark.redis

REDIS_BASE = os.environ.get("LINLI_TEST_REDIS_URL", "redis://127.0.0.1:6379")
SECRET = "multiprocess-test-secret"


def _redis_problem() -> str | None:
    try:
        client = redis.Redis.from_url(REDIS_BASE, socket_connect_timeout=2)
        client.ping()
        client.close()
        return None
    except Exception as exc:  # any failure to reach it means "not here"
        return str(exc).splitlines()[0]


def _require_services() -> None:
    for name, problem in (("Redis", _redis_problem()), ("PostgreSQL", _pg_reachable())):
        if problem:
            if IN_CI:
                pytest.fail(f"{name} unreachable in CI: {problem}")
            pytest.skip(f"{name} unreachable: {problem}")


@pytest.fixture
def cluster(tmp_path):
    """A fresh migrated schema with a senior and an on-duty provider; processes A and B on it."""
    _require_services()
    schema = f"linli_mp_{uuid.uuid4().hex[:10]}"
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    redis_url = f"{REDIS_BASE}/{random.randint(1, 15)}"
    channel = f"linli-test-{uuid.uuid4().hex}"  # shared by A and B, seen by no other run
    admin = make_engine(PG_URL)
    with contextlib.ExitStack() as cleanup:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))

        def drop_schema():
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()

        cleanup.callback(drop_schema)
        engine = make_engine(url)
        cleanup.callback(engine.dispose)
        upgrade(engine)
        with write_session(engine) as session:
            world = f.senior_and_provider(session, north_km=0.5)
            session.commit()
        servers = {}
        for name in ("a", "b"):
            instance = tmp_path / f"instance-{name}"
            instance.mkdir()
            env = {"LINLI_DATABASE_URL": url, "LINLI_REDIS_URL": redis_url, "LINLI_INSTANCE_PATH": str(instance),
                   "LINLI_SECRET_KEY": SECRET, "LINLI_SOCKETIO_CHANNEL": channel}
            server = f.LiveServer(env, log=tmp_path / f"serve-{name}.log")
            cleanup.callback(server.stop)  # registered before start: stopped even if start fails
            servers[name] = server.start()
        yield SimpleNamespace(a=servers["a"], b=servers["b"], engine=engine, **vars(world))


def test_a_booking_on_process_a_reaches_a_provider_connected_to_process_b(cluster):
    arrived: dict[int, list[tuple[float, dict]]] = {}
    got = threading.Condition()
    ready = threading.Event()
    client = socketio.Client(reconnection=False)

    @client.on("offer_created")
    def _offer(payload):
        with got:
            arrived.setdefault(payload["offer"]["request_id"], []).append((time.perf_counter(), payload))
            got.notify_all()

    client.on("ready", lambda _payload: ready.set())
    client.connect(cluster.b.url, auth={"token": f.token_of(cluster.h_provider)}, transports=["websocket"],
                   wait_timeout=5)
    try:
        assert ready.wait(5), cluster.b.log_tail()
        t0 = time.perf_counter()
        r = requests.post(f"{cluster.a.url}/api/v1/requests",
                          json={"senior_id": cluster.senior_id, "service_type": "meal"},
                          headers=cluster.h_senior, timeout=10)
        assert r.status_code == 201, r.text
        request_id = r.json()["id"]
        with got:
            assert got.wait_for(lambda: request_id in arrived, timeout=5), (
                f"A:\n{cluster.a.log_tail()}\nB:\n{cluster.b.log_tail()}")
        at, payload = arrived[request_id][0]
        assert at - t0 < 5
        assert payload["type"] == "offer_created" and isinstance(payload["event_id"], int)

        offers = requests.get(f"{cluster.b.url}/api/v1/offers", headers=cluster.h_provider, timeout=10)
        assert offers.status_code == 200, offers.text
        mine = [o["id"] for o in offers.json() if o["request_id"] == request_id]
        assert mine == [payload["offer"]["id"]]

        time.sleep(1.5)  # both relays poll every 0.5 s: the event must still have been emitted once
        assert len(arrived[request_id]) == 1
    finally:
        client.disconnect()
