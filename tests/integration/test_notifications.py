"""Notifications from the outbox: Web Push end to end to a real endpoint on 127.0.0.1 (decrypted with
http_ece), retries and their limits, subscriptions gone, no loss and no double send; on SQLite
and on PostgreSQL."""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from dispatch.catalog import Role
from dispatch.deliveries import RetryPolicy
from models.engine import make_engine, read_session, write_session
from models.events import Event
from models.notifications import Delivery, NotificationPreference, PushSubscription
from models.types import utcnow
from server.notify.endpoints import EndpointPolicy
from server.notify.push import PushChannel
from server.notify.sms import LogGateway
from server.notify.worker import Notifier
from server.steps import outbox
from server.vapid import VapidSigner, load_or_create, public_key_b64
from tests import factories
from tests.conftest import sqlite_engine
from tests.pushkit import Endpoint, Subscriber, vapid_claims

FAST = RetryPolicy(base_seconds=0.05, cap_seconds=0.2, max_attempts=4, lease_seconds=1.0)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    """A committed database: the notifier opens its own transactions, so on PostgreSQL each test
    gets a schema of its own (in the shared one, rows other tests committed would reach its notifier,
    and its own rows theirs)."""
    engine = sqlite_engine(tmp_path) if request.param == "sqlite" else make_engine(
        request.getfixturevalue("own_pg_schema_url"))
    yield engine
    engine.dispose()


@pytest.fixture
def endpoint():
    server = Endpoint()
    yield server
    server.close()


def notifier_for(engine, tmp_path, endpoint, *, policy=FAST, sms=None, timeout=(1.0, 2.0)) -> Notifier:
    vapid = load_or_create(tmp_path)
    push = PushChannel(VapidSigner(vapid, "mailto:test@linli.invalid"), EndpointPolicy([endpoint.host]),
                       timeout=timeout)
    notifier = Notifier(engine, push, sms or LogGateway(), zone=ZoneInfo("Asia/Shanghai"), policy=policy)
    with read_session(engine) as session:
        notifier.begin_after(session.execute(select(func.max(Event.id))).scalar() or 0)
    return notifier


def person(engine, role=Role.FAMILY, *, locale="zh-CN", devices=(), **prefs):
    with write_session(engine) as session:
        user = factories.user(session, role)
        user.locale = locale
        session.add(user)
        for sub in devices:
            session.add(PushSubscription(user_id=user.id, endpoint=sub.endpoint, p256dh=sub.p256dh,
                                         auth=sub.subscription()["keys"]["auth"]))
        if prefs:
            session.add(NotificationPreference(user_id=user.id, **prefs))
        session.commit()
        return user.id, user.phone


SOS = {"sos": {"id": 7, "senior_id": 3, "status": "open", "senior_name": "王秀兰"}}


def event(engine, user_id, type_="offer_withdrawn", payload=None):
    payload = payload or {"offer_id": 5, "reason": "taken"}
    with write_session(engine) as session:
        outbox.add_user_event(session, user_id, type_, payload)
        session.commit()


def deliveries(engine, user_id):
    with read_session(engine) as session:
        return session.exec(select(Delivery).where(Delivery.user_id == user_id).order_by(Delivery.id)).scalars().all()


def test_a_push_arrives_encrypted_signed_with_ttl_urgency_topic(engine, tmp_path, endpoint):
    sub = Subscriber(endpoint.url("/push/a"))
    user_id, _ = person(engine, Role.PROVIDER, devices=[sub])
    notifier = notifier_for(engine, tmp_path, endpoint)
    expires = (utcnow() + timedelta(seconds=90)).isoformat()
    event(engine, user_id, "offer_created",
          {"offer": {"id": 41, "request_id": 9, "service_type": "meal", "expires_at": expires,
                     "area": {"lat": 25.8, "lon": 113.0, "community": "燕泉社区"}}})
    assert notifier.run_once() == 1
    [got] = endpoint.wait_for(1)
    message = sub.decrypt(got.body)
    assert message["kind"] == "offer" and message["ids"] == {"offer_id": 41, "request_id": 9}
    assert message["title"] == "新的服务单 · 助餐" and message["url"] == "/" and message["tag"] == "offer41"
    assert "燕泉" not in got.body.decode("latin-1") and "25.8" not in str(message)  # no place, even coarse
    headers = {k.lower(): v for k, v in got.headers.items()}
    assert headers["content-encoding"] == "aes128gcm"
    assert 60 <= int(headers["ttl"]) <= 90 and headers["urgency"] == "high" and headers["topic"] == "offer41"
    claims = vapid_claims(headers["authorization"], public_key_b64(load_or_create(tmp_path)))
    assert claims["aud"] == f"http://{endpoint.host}" and claims["sub"] == "mailto:test@linli.invalid"
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    [row] = deliveries(engine, user_id)
    assert (row.status, row.attempts, row.channel, row.kind) == ("sent", 1, "push", "offer")


def test_each_device_gets_its_own_push_in_the_users_language(engine, tmp_path, endpoint):
    phone, laptop = Subscriber(endpoint.url("/push/phone")), Subscriber(endpoint.url("/push/laptop"))
    user_id, _ = person(engine, Role.FAMILY, locale="en", devices=[phone, laptop], sms=False)
    notifier = notifier_for(engine, tmp_path, endpoint)
    event(engine, user_id, "request_updated", {"request": {"id": 12, "status": "en_route", "service_type": "escort"}})
    notifier.run_once()
    got = {r.path: r for r in endpoint.wait_for(2)}
    assert phone.decrypt(got["/push/phone"].body)["title"] == "On the way"
    assert laptop.decrypt(got["/push/laptop"].body)["body"] == "Your escort carer is on the way."
    assert got["/push/phone"].headers["Topic"] == "req12"


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_subscription_is_deleted(engine, tmp_path, endpoint, status):
    endpoint.respond = lambda path: (status, {})
    user_id, _ = person(engine, Role.PROVIDER, devices=[Subscriber(endpoint.url())])
    notifier = notifier_for(engine, tmp_path, endpoint)
    event(engine, user_id)
    notifier.run_once()
    [row] = deliveries(engine, user_id)
    assert row.status == "gone" and str(status) in row.last_error
    with read_session(engine) as session:
        assert session.exec(select(PushSubscription).where(PushSubscription.user_id == user_id)).first() is None


def test_429_waits_for_retry_after(engine, tmp_path, endpoint):
    endpoint.respond = lambda path: (429, {"Retry-After": "120"})
    user_id, _ = person(engine, Role.PROVIDER, devices=[Subscriber(endpoint.url())])
    notifier = notifier_for(engine, tmp_path, endpoint)
    event(engine, user_id)
    before = utcnow()
    notifier.run_once()
    [row] = deliveries(engine, user_id)
    assert row.status == "queued" and row.attempts == 1 and "429" in row.last_error
    assert timedelta(seconds=119) <= row.next_attempt_at - before <= timedelta(seconds=125)
    assert notifier.run_once() == 0  # not before its time


def test_a_5xx_is_retried_with_backoff_then_sent(engine, tmp_path, endpoint):
    answers = iter([500, 503, 201])
    endpoint.respond = lambda path: (next(answers), {})
    user_id, _ = person(engine, Role.PROVIDER, devices=[Subscriber(endpoint.url())])
    notifier = notifier_for(engine, tmp_path, endpoint)
    event(engine, user_id)
    for _ in range(3):
        notifier.run_once()
        time.sleep(0.25)  # past the capped backoff
    [row] = deliveries(engine, user_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None) or (row.status, row.attempts) == ("sent", 3)
    assert len(endpoint.received) == 3


def test_413_is_never_retried(engine, tmp_path, endpoint):
    endpoint.respond = lambda path: (413, {})
    user_id, _ = person(engine, Role.PROVIDER, devices=[Subscriber(endpoint.url())])
    notifier = notifier_for(engine, tmp_path, endpoint)
    event(engine, user_id)
    notifier.run_once()
    time.sleep(0.3)
    notifier.run_once()
    [row] = deliveries(engine, user_id)
    assert (row.status, row.attempts) == ("failed", 1) and "413" in row.last_error
    assert len(endpoint.received) == 1


def test_a_redirect_is_not_followed(engine, tmp_path, endpoint):
    endpoint.respond = lambda path: (307, {"Location": "http://169.254.169.254/latest/meta-data/"}) \
        if path == "/push/1" else (201, {})
    user_id, _ = person(engine, Role.PROVIDER, devices=[Subscriber(endpoint.url())])
    notifier = notifier_for(engine, tmp_path, endpoint)
    event(engine, user_id)
    notifier.run_once()
    [row] = deliveries(engine, user_id)
    assert row.status == "failed" and "307" in row.last_error and len(endpoint.received) == 1


def test_a_hanging_endpoint_times_out_and_is_retried(engine, tmp_path, endpoint):
    endpoint.hang = 3.0
    user_id, _ = person(engine, Role.PROVIDER, devices=[Subscriber(endpoint.url())])
    # Backoff longer than the test: one pass makes one attempt, however slow the machine.
    notifier = notifier_for(engine, tmp_path, endpoint, timeout=(0.5, 0.5),
                            policy=RetryPolicy(base_seconds=30, lease_seconds=5))
    event(engine, user_id)
    started = time.monotonic()
    notifier.run_once()
    assert time.monotonic() - started < 2.5
    [row] = deliveries(engine, user_id)
    assert (row.status, row.attempts, row.last_error) == ("queued", 1, "timeout")


def test_a_sender_that_dies_after_claiming_loses_nothing(engine, tmp_path, endpoint):
    user_id, _ = person(engine, Role.PROVIDER, devices=[Subscriber(endpoint.url())])
    # The lease is long enough for a loaded machine to make the second pass within it (0.3 s was not).
    dying = notifier_for(engine, tmp_path, endpoint, policy=RetryPolicy(lease_seconds=2.0))
    event(engine, user_id)
    claimed = dying.dispatch()  # committed: deliveries written and claimed … and then the process dies
    assert len(claimed) == 1 and endpoint.received == []
    other = notifier_for(engine, tmp_path, endpoint, policy=RetryPolicy(lease_seconds=2.0))
    assert other.run_once() == 0  # the lease still holds: nobody sends it twice meanwhile
    time.sleep(2.1)
    assert other.run_once() == 1
    [row] = deliveries(engine, user_id)
    assert (row.status, row.attempts) == ("sent", 2) and len(endpoint.wait_for(1)) == 1


def test_two_senders_never_send_the_same_delivery(engine, tmp_path, endpoint):
    users = [person(engine, Role.PROVIDER, devices=[Subscriber(endpoint.url(f"/push/{i}"))])[0] for i in range(6)]
    senders = [notifier_for(engine, tmp_path, endpoint) for _ in range(3)]
    for user_id in users:
        for n in range(5):
            event(engine, user_id, payload={"offer_id": 100 + n, "reason": "taken"})
    threads = [threading.Thread(target=s.run_once) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in senders:
        s.run_once()
    paths = sorted((r.path, r.headers["Topic"]) for r in endpoint.wait_for(30))
    assert len(paths) == 30 and len(set(paths)) == 30
    assert all(d.status == "sent" and d.attempts == 1 for u in users for d in deliveries(engine, u))


def test_push_off_and_quiet_hours(engine, tmp_path, endpoint):
    sub = Subscriber(endpoint.url())
    quiet_user, _ = person(engine, Role.FAMILY, devices=[sub], quiet_start="00:00", quiet_end="23:59", sms=False)
    off_user, _ = person(engine, Role.FAMILY, devices=[Subscriber(endpoint.url("/push/off"))], push=False)
    notifier = notifier_for(engine, tmp_path, endpoint)
    event(engine, quiet_user, "request_updated", {"request": {"id": 5, "status": "completed", "service_type": "meal"}})
    event(engine, off_user, "request_updated", {"request": {"id": 6, "status": "completed", "service_type": "meal"}})
    notifier.run_once()
    [got] = endpoint.wait_for(1)
    assert got.path == "/push/1" and sub.decrypt(got.body)["silent"] is True  # arrives, without a sound
    assert deliveries(engine, off_user) == []
    event(engine, quiet_user, "sos_alert", SOS)  # SOS rings even in quiet hours
    notifier.run_once()
    assert sub.decrypt(endpoint.wait_for(2)[1].body)["silent"] is False


def test_an_sos_texts_the_family_through_the_signed_webhook(engine, tmp_path, endpoint):
    from server.notify.sms import WebhookGateway, signature

    gateway = WebhookGateway(endpoint.url("/sms"), "webhook-secret", timeout=(1.0, 2.0))
    family, phone = person(engine, Role.FAMILY)
    senior, _ = person(engine, Role.SENIOR)
    notifier = notifier_for(engine, tmp_path, endpoint, sms=gateway)
    event(engine, family, "sos_alert", SOS)
    event(engine, senior, "sos_alert", SOS)  # the senior pressed it: nothing to tell them
    notifier.run_once()
    [got] = endpoint.wait_for(1)
    import json

    body = json.loads(got.body)
    assert body["to"] == phone and body["kind"] == "sos" and "王秀兰" in body["text"] and len(body["text"]) <= 120
    assert got.headers["X-Linli-Signature"] == signature("webhook-secret", got.headers["X-Linli-Timestamp"], got.body)
    [row] = deliveries(engine, family)
    assert (row.channel, row.status) == ("sms", "sent") and deliveries(engine, senior) == []


def test_with_the_webhook_down_the_text_is_retried_and_recorded(engine, tmp_path, endpoint):
    from server.notify.sms import WebhookGateway

    gateway = WebhookGateway(endpoint.url("/sms"), "webhook-secret", timeout=(0.5, 0.5))
    endpoint.close()  # nothing listens there any more
    family, _ = person(engine, Role.FAMILY)
    notifier = notifier_for(engine, tmp_path, endpoint, sms=gateway)
    event(engine, family, "sos_alert", SOS)
    notifier.run_once()
    time.sleep(0.3)
    notifier.run_once()
    [row] = deliveries(engine, family)
    assert row.status == "queued" and row.attempts == 2 and "ConnectionError" in row.last_error


def test_an_escalated_visit_texts_the_family_but_waits_out_their_quiet_hours(engine, tmp_path, endpoint):
    family, _ = person(engine, Role.FAMILY, quiet_start="00:00", quiet_end="23:59")
    notifier = notifier_for(engine, tmp_path, endpoint)
    event(engine, family, "request_updated", {"request": {"id": 8, "status": "escalated", "service_type": "meal"}})
    notifier.run_once()
    [row] = deliveries(engine, family)
    assert (row.channel, row.status, row.attempts) == ("sms", "queued", 0) and row.next_attempt_at > utcnow()


_DIE_AFTER_CLAIM = """
import os, signal, sys
from zoneinfo import ZoneInfo
from dispatch.deliveries import RetryPolicy
from models.engine import make_engine
from server.notify.endpoints import EndpointPolicy
from server.notify.push import PushChannel
from server.notify.sms import LogGateway
from server.notify.worker import Notifier
from server.vapid import VapidSigner, load_or_create
url, folder, host, after = sys.argv[1:5]
push = PushChannel(VapidSigner(load_or_create(folder), "mailto:t@linli.invalid"), EndpointPolicy([host]))
notifier = Notifier(make_engine(url), push, LogGateway(), zone=ZoneInfo("Asia/Shanghai"),
                    policy=RetryPolicy(lease_seconds=1.0))
notifier.begin_after(int(after))
claimed = notifier.dispatch()          # committed: written and claimed
print(len(claimed), flush=True)
os.kill(os.getpid(), signal.SIGKILL)   # killed -9 between commit and send
"""


def test_a_sender_killed_9_between_commit_and_send_loses_nothing(engine, tmp_path, endpoint):
    import subprocess
    import sys

    user_id, _ = person(engine, Role.PROVIDER, devices=[Subscriber(endpoint.url())])
    with read_session(engine) as session:
        after = session.execute(select(func.max(Event.id))).scalar() or 0
    event(engine, user_id)
    url = engine.url.render_as_string(hide_password=False)
    done = subprocess.run([sys.executable, "-c", _DIE_AFTER_CLAIM, url, str(tmp_path), endpoint.host, str(after)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == -9 and done.stdout.strip() == "1", done.stderr
    assert endpoint.received == []
    survivor = notifier_for(engine, tmp_path, endpoint, policy=RetryPolicy(lease_seconds=1.0))
    assert survivor.run_once() == 0  # leased to the dead sender for now
    time.sleep(1.1)
    assert survivor.run_once() == 1
    assert len(endpoint.wait_for(1)) == 1
    [row] = deliveries(engine, user_id)
    assert (row.status, row.attempts) == ("sent", 2)


def test_old_finished_deliveries_are_purged_and_queued_ones_kept(engine, tmp_path, endpoint):
    from server.services.deliveries import purge_deliveries

    endpoint.respond = lambda path: (500, {}) if path == "/push/stuck" else (201, {})
    sent_user, _ = person(engine, Role.PROVIDER, devices=[Subscriber(endpoint.url("/push/ok"))])
    stuck_user, _ = person(engine, Role.PROVIDER, devices=[Subscriber(endpoint.url("/push/stuck"))])
    notifier = notifier_for(engine, tmp_path, endpoint)
    event(engine, sent_user)
    event(engine, stuck_user)
    notifier.run_once()
    with write_session(engine) as session:
        purge_deliveries(session=session, now=utcnow() + timedelta(days=31))
    assert deliveries(engine, sent_user) == [] and [d.status for d in deliveries(engine, stuck_user)] == ["queued"]
