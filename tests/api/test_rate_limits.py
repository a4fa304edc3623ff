"""Rate limits: login is limited per phone; over the limit is 429 with Retry-After, in the error shape."""
from __future__ import annotations

import os
import random
import time
import uuid

import pytest

from tests.conftest import test_settings as make_settings


@pytest.fixture
def one_window():
    """Limits count in sliding-window counters on minute windows aligned to the epoch; just after a
    boundary the weighted count may admit one more. Start a test's burst well inside one window
    (it takes a few seconds at most) so its count is exact."""
    into = time.time() % 60
    if into > 50:
        time.sleep(60 - into + 0.2)


@pytest.fixture
def limited_client(tmp_path, engine, one_window):
    from server import create_app

    return create_app(make_settings(tmp_path, rate_limits_enabled=True, login_limit_phone="3/minute"),
                      engine=engine).test_client()


def test_login_over_the_limit_for_one_phone_is_429_with_retry_after(limited_client):
    attempt = {"phone": "13800138000", "password": "wrong-password"}
    for _ in range(3):
        assert limited_client.post("/api/v1/auth/login", json=attempt).status_code == 401
    r = limited_client.post("/api/v1/auth/login", json=attempt)
    assert r.status_code == 429
    assert set(r.get_json()) == {"error"} and r.get_json()["error"]["code"] == "rate_limited"
    assert r.get_json()["error"]["message"]
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    # The same number written another way is the same phone; another phone is not limited.
    assert limited_client.post("/api/v1/auth/login", json={**attempt, "phone": "+8613800138000"}).status_code == 429
    assert limited_client.post("/api/v1/auth/login", json={**attempt, "phone": "13800138001"}).status_code == 401


def test_the_default_login_limit_is_ten_a_minute(tmp_path, engine, one_window):
    from server import create_app

    settings = make_settings(tmp_path, rate_limits_enabled=True)
    assert settings.login_limit_phone == "10/minute"
    client = create_app(settings, engine=engine).test_client()
    attempt = {"phone": "13900139000", "password": "wrong-password"}
    statuses = [client.post("/api/v1/auth/login", json=attempt).status_code for _ in range(11)]
    assert statuses == [401] * 10 + [429]


def test_limits_are_off_when_disabled(client):
    attempt = {"phone": "13700137000", "password": "wrong-password"}
    assert {client.post("/api/v1/auth/login", json=attempt).status_code for _ in range(12)} == {401}


# ---- logins: the limit holds in every 60-second span ---------------------------------------------

class FakeClock:
    """time.time() under the test's control (the limiters read it), starting 0.5 s before a minute
    boundary: where sliding-window counters let a second burst through."""

    def __init__(self):
        self.now = (int(time.time()) // 60 + 5) * 60 - 0.5

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("storage", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
def test_the_login_limit_holds_across_a_minute_boundary(tmp_path, engine, monkeypatch, request, storage):
    from server import create_app

    clock = FakeClock()
    if storage == "redis":  # limits' Redis moving window takes its timestamps from this process's clock
        url, redis_client = request.getfixturevalue("redis_db")
        run = uuid.uuid4().hex[:10]
        request.addfinalizer(lambda: [redis_client.delete(k) for k in redis_client.scan_iter(match=f"b-{run}:*")])
        app = _redis_app(tmp_path, engine, url, {"LINLI_SOCKETIO_CHANNEL": f"b-{run}"})
    else:
        app = create_app(make_settings(tmp_path, rate_limits_enabled=True), engine=engine)
    monkeypatch.setattr(time, "time", clock)
    client = app.test_client()
    attempt = {"phone": "13900139001", "password": "wrong-password"}

    def tries(n: int) -> list[int]:
        return [client.post("/api/v1/auth/login", json=attempt).status_code for _ in range(n)]

    assert tries(10) == [401] * 10
    clock.now += 1.0  # 0.5 s into the next minute: sliding-window counters admitted 9 more here
    assert tries(9) == [429] * 9
    clock.now += 58.5  # 59.5 s after the first ten: still within 60 s of them
    assert tries(1) == [429]
    clock.now += 1.0  # 60.5 s after them: they have left the window
    assert tries(10) == [401] * 10
    assert tries(1) == [429]


def test_a_refused_login_says_when_to_retry(tmp_path, engine, monkeypatch):
    from server import create_app

    clock = FakeClock()
    monkeypatch.setattr(time, "time", clock)
    client = create_app(make_settings(tmp_path, rate_limits_enabled=True, login_limit_phone="2/minute"),
                        engine=engine).test_client()
    attempt = {"phone": "13900139002", "password": "wrong-password"}
    assert [client.post("/api/v1/auth/login", json=attempt).status_code for _ in range(2)] == [401, 401]
    clock.now += 30
    r = client.post("/api/v1/auth/login", json=attempt)
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 31


# ---- SOS: only calls that got through count, per senior and caller --------------------------------

@pytest.fixture
def sos_world(session):
    from dispatch.catalog import Role
    from tests import factories as f

    a = f.first_community(session)
    senior_user = f.user(session, Role.SENIOR)
    senior = f.senior(session, a, owner=senior_user)
    fam = f.user(session, Role.FAMILY)
    f.family_link(session, senior, fam)
    w = dict(senior=senior.id, own=f.bearer(session, senior_user), family=f.bearer(session, fam),
             stranger=f.bearer(session, f.user(session, Role.FAMILY)),
             provider=f.bearer(session, f.user(session, Role.PROVIDER)))
    session.commit()
    return w


@pytest.fixture
def sos_client(tmp_path, engine, one_window):
    from server import create_app

    return create_app(make_settings(tmp_path, rate_limits_enabled=True), engine=engine).test_client()


def test_nobody_elses_sos_calls_can_silence_a_seniors_own(sos_client, sos_world):
    body = {"senior_id": sos_world["senior"]}
    for _ in range(10):  # not signed in
        assert sos_client.post("/api/v1/sos", json=body).status_code == 401
    for who in ("stranger", "provider"):  # signed in, but not this senior's
        for _ in range(10):
            assert sos_client.post("/api/v1/sos", json=body, headers=sos_world[who]).status_code == 404
    for bad in ("13", 13.0, True):  # refused as input: never counted either
        assert sos_client.post("/api/v1/sos", json={"senior_id": bad}, headers=sos_world["own"]).status_code == 422
    first = sos_client.post("/api/v1/sos", json=body, headers=sos_world["own"])
    assert first.status_code == 201, first.get_json()
    assert sos_client.post("/api/v1/sos", json=body, headers=sos_world["family"]).status_code == 200


def test_the_sos_limit_counts_each_callers_presses_apart(sos_client, sos_world):
    body = {"senior_id": sos_world["senior"]}
    own = [sos_client.post("/api/v1/sos", json=body, headers=sos_world["own"]).status_code for _ in range(11)]
    assert own == [201] + [200] * 9 + [429]  # the open alert comes back; the 11th press in a minute is limited
    r = sos_client.post("/api/v1/sos", json=body, headers=sos_world["own"])
    assert r.status_code == 429 and r.headers["Retry-After"]
    assert sos_client.post("/api/v1/sos", json=body, headers=sos_world["family"]).status_code == 200


def test_an_idempotent_replay_of_an_sos_is_not_counted(sos_client, sos_world):
    body, key = {"senior_id": sos_world["senior"]}, {"Idempotency-Key": "sos-press-1"}
    statuses = [sos_client.post("/api/v1/sos", json=body, headers={**sos_world["own"], **key}).status_code
                for _ in range(15)]
    assert statuses == [201] * 15


# ---- Redis: keys under the deployment's prefix -----------------------------------------------------

REDIS_BASE = os.environ.get("LINLI_TEST_REDIS_URL", "redis://127.0.0.1:6379")


@pytest.fixture
def redis_db():
    """A Redis database number of this test's choosing (skipped without Redis outside CI)."""
    import redis

    from tests.conftest import IN_CI

    url = f"{REDIS_BASE}/{random.randint(1, 15)}"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
    except Exception as exc:  # any failure to reach it means "not here"
        if IN_CI:
            pytest.fail(f"Redis unreachable in CI: {exc}")
        pytest.skip(f"Redis unreachable: {exc}")
    yield url, client
    client.close()


def _redis_app(tmp_path, engine, url: str, env: dict):
    from server import create_app
    from server.config import Settings

    settings = Settings.from_env({"LINLI_INSTANCE_PATH": str(tmp_path / "instance"), "LINLI_REDIS_URL": url,
                                  **env}, secret_key="test-secret", index_warm="sync", relay_autostart=False)
    return create_app(settings, engine=engine)


@pytest.mark.redis
@pytest.mark.parametrize("env, prefix", [({"LINLI_SOCKETIO_CHANNEL": "linli-{run}"}, "linli-{run}:limits"),
                                         ({"LINLI_SOCKETIO_CHANNEL": "linli-{run}",
                                           "LINLI_RATELIMIT_PREFIX": "rl-{run}"}, "rl-{run}")])
def test_rate_limit_keys_in_redis_carry_the_deployment_prefix(tmp_path, engine, redis_db, one_window, env, prefix):
    url, client = redis_db
    run = uuid.uuid4().hex[:10]
    env = {k: v.format(run=run) for k, v in env.items()}
    prefix = prefix.format(run=run)
    app = _redis_app(tmp_path, engine, url, env)
    try:
        attempt = {"phone": "13900139003", "password": "wrong-password"}
        statuses = [app.test_client().post("/api/v1/auth/login", json=attempt).status_code for _ in range(11)]
        assert statuses == [401] * 10 + [429]  # the moving window works on Redis too
        keys = [k.decode() for k in client.scan_iter(match="*13900139003*")]
        assert keys and all(k.startswith(f"{prefix}:") for k in keys), keys
        assert not [k for k in client.scan_iter(match="LIMITS:*13900139003*")]
        # Another deployment on the same Redis (its own channel) counts apart.
        other = _redis_app(tmp_path / "other", engine, url, {"LINLI_SOCKETIO_CHANNEL": f"other-{run}"})
        assert other.test_client().post("/api/v1/auth/login", json=attempt).status_code == 401
    finally:
        for key in list(client.scan_iter(match=f"{prefix}:*")) + list(client.scan_iter(match=f"other-{run}:*")):
            client.delete(key)


# ---- bookings on Redis: one round trip a check, the same counting and headers ----------------------

def _booking_world(session):
    from dispatch.catalog import Role
    from tests import factories as f

    owner = f.user(session, Role.SENIOR)
    senior = f.senior(session, f.first_community(session), owner=owner)
    world = {"senior": senior.id, "headers": f.bearer(session, owner)}
    session.commit()
    return world


def _scripts_run(monkeypatch) -> list[str]:
    """The Lua scripts this process ran on Redis (EVALSHA and EVAL calls that answered), in order."""
    import redis

    calls: list[str] = []
    real = redis.Redis.execute_command

    def counted(self, *args, **options):
        # A script Redis has not seen yet (a fresh server) answers NOSCRIPT and is loaded and run again:
        # that first try is not a call of ours.
        answer = real(self, *args, **options)
        if str(args[0]).upper() in ("EVALSHA", "EVAL"):
            calls.append(str(args[0]))
        return answer

    monkeypatch.setattr(redis.Redis, "execute_command", counted)
    return calls


@pytest.mark.parametrize("storage", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
def test_a_booking_limit_counts_and_answers_the_same_on_memory_and_redis(tmp_path, engine, session, request,
                                                                        monkeypatch, one_window, storage):
    from server import create_app

    world = _booking_world(session)
    if storage == "redis":
        url, redis_client = request.getfixturevalue("redis_db")
        run = uuid.uuid4().hex[:10]
        request.addfinalizer(lambda: [redis_client.delete(k) for k in redis_client.scan_iter(match=f"k-{run}:*")])
        settings = make_settings(tmp_path, rate_limits_enabled=True, booking_limit="3/minute", redis_url=url,
                                 socketio_channel=f"k-{run}", ratelimit_prefix=f"k-{run}:limits")
    else:
        settings = make_settings(tmp_path, rate_limits_enabled=True, booking_limit="3/minute")
    client = create_app(settings, engine=engine).test_client()
    scripts = _scripts_run(monkeypatch)
    body = {"senior_id": world["senior"], "service_type": "meal"}
    answers = [client.post("/api/v1/requests", json=body, headers=world["headers"]) for _ in range(4)]
    assert [r.status_code for r in answers] == [201, 201, 201, 429]
    assert [r.headers["X-RateLimit-Limit"] for r in answers] == ["3"] * 4
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["2", "1", "0", "0"]
    now = time.time()
    assert all(now <= int(r.headers["X-RateLimit-Reset"]) <= now + 61 for r in answers)
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    if storage == "redis":  # the hit's script also reads the window the headers show: one a booking
        assert len(scripts) == 4, scripts


@pytest.mark.redis
def test_an_sos_on_redis_is_tested_then_counted_and_its_headers_read_no_more(tmp_path, engine, session, request,
                                                                           redis_db, monkeypatch, one_window):
    from server import create_app

    world = _booking_world(session)
    url, redis_client = redis_db
    run = uuid.uuid4().hex[:10]
    request.addfinalizer(lambda: [redis_client.delete(k) for k in redis_client.scan_iter(match=f"s-{run}:*")])
    client = create_app(make_settings(tmp_path, rate_limits_enabled=True, sos_limit="2/minute", redis_url=url,
                                      socketio_channel=f"s-{run}", ratelimit_prefix=f"s-{run}:limits"),
                        engine=engine).test_client()
    scripts = _scripts_run(monkeypatch)
    body = {"senior_id": world["senior"]}
    answers = [client.post("/api/v1/sos", json=body, headers=world["headers"]) for _ in range(3)]
    assert [r.status_code for r in answers] == [201, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["1", "0", "0"]
    assert len(scripts) == 2 + 2 + 1, scripts  # test and hit for each counted call; the refused one a test
