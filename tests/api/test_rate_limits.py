"""Rate limits: login is limited per phone; over the limit is 429 with Retry-After, in the error shape."""
from __future__ import annotations

import time

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
