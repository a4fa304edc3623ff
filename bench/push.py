"""Web Push: what one message costs to encrypt and sign, how fast deliveries leave, and how long
from a commit to the push endpoint.

1. Encrypted-and-signed messages per second of CPU (one core): server.notify.push (RFC 8291 on
   `cryptography` directly, VAPID header cached per origin) against plain `pywebpush.webpush()`
   per call (signs a new JWT and encrypts through http_ece every time; `curl=True`, so neither
   sends: CPU only), and pywebpush's WebPusher.encode() with the same cached header. Counted in process CPU time, so other load on the machine barely moves it.
2. Deliveries per second to a push endpoint on 127.0.0.1 (in its own process): the notifier
   (outbox event → delivery rows → claimed → sent through a pool of 8 → recorded, on SQLite)
   against `pywebpush.webpush()` one after the other.
3. Commit → the endpoint has the message: p50/p95 over sequential events, the notifier woken by
   the commit (threads, not gevent, in this process).
"""
from __future__ import annotations

import base64
import contextlib
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _subscriber(endpoint: str) -> dict:
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {"endpoint": endpoint, "keys": {"p256dh": _b64(raw), "auth": _b64(os.urandom(16))}}


PAYLOAD = ('{"kind":"offer","event_id":123456,"title":"新的服务单 · 助餐","body":"附近有一单助餐，请尽快查看并接单。",'
           '"url":"/offers","tag":"offer98765","ids":{"offer_id":98765,"request_id":43210},"silent":false,'
           '"urgency":"high"}').encode()


def crypto_rates(seconds: float) -> dict:
    """Messages per CPU-second: ours (cached VAPID) and pywebpush.webpush() per call."""
    from py_vapid import Vapid02
    from pywebpush import WebPusher, webpush

    from server.notify.endpoints import EndpointPolicy
    from server.notify.push import PushChannel, PushMessage
    from server.vapid import VapidSigner, private_key_b64

    vapid = Vapid02()
    vapid.generate_keys()
    sub = _subscriber("https://fcm.googleapis.com/fcm/send/bench-device")
    channel = PushChannel(VapidSigner(vapid, "mailto:bench@linli.invalid"), EndpointPolicy())
    message = PushMessage(sub["endpoint"], sub["keys"]["p256dh"], sub["keys"]["auth"], PAYLOAD, 90, "high", "offer1")
    key = private_key_b64(vapid)

    def ours():
        channel.prepare(message)

    def plain():  # a fresh claims dict every call: webpush() writes aud and exp into it
        webpush(sub, PAYLOAD, vapid_private_key=key, vapid_claims={"sub": "mailto:bench@linli.invalid"},
                ttl=90, curl=True)

    signer = VapidSigner(vapid, "mailto:bench@linli.invalid")
    pusher = WebPusher(sub)

    def pywebpush_cached():  # pywebpush's own encryption, with the same cached header
        pusher.encode(PAYLOAD, "aes128gcm")
        signer.header("https://fcm.googleapis.com")

    with tempfile.TemporaryDirectory() as scratch, contextlib.chdir(scratch):  # curl=True writes encrypted.data
        plain_rate = _per_cpu_second(plain, seconds / 2)
    return {"ours": _per_cpu_second(ours, seconds), "plain": plain_rate,
            "pusher": _per_cpu_second(pywebpush_cached, seconds / 2)}


def _per_cpu_second(work, seconds: float) -> float:
    for _ in range(50):
        work()
    n, cpu0, wall0 = 0, time.process_time(), time.perf_counter()
    while time.perf_counter() - wall0 < seconds:
        for _ in range(100):
            work()
        n += 100
    return n / (time.process_time() - cpu0)


def _sink(port_out, times, stop) -> None:
    """The push endpoint: answers 201 at once and reports (path, monotonic time) of each message."""
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            times.put((self.path, time.monotonic()))
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.timeout = 0.2
    port_out.put(server.server_address[1])
    while not stop.is_set():
        server.handle_request()


class Sink:
    def __enter__(self):
        ctx = mp.get_context("fork")
        self.times, self.stop, port = ctx.Queue(), ctx.Event(), ctx.Queue()
        self.process = ctx.Process(target=_sink, args=(port, self.times, self.stop), daemon=True)
        self.process.start()
        self.host = f"127.0.0.1:{port.get(timeout=10)}"
        return self

    def drain(self, n: int, timeout: float = 60) -> list[tuple[str, float]]:
        return [self.times.get(timeout=timeout) for _ in range(n)]

    def __exit__(self, *exc):
        self.stop.set()
        self.process.join(5)
        if self.process.is_alive():
            self.process.terminate()


def _world(folder: Path, host: str, n_users: int):
    """A migrated SQLite database with n_users providers, one subscribed device each, and a notifier."""
    from dispatch.catalog import Role
    from dispatch.deliveries import RetryPolicy
    from models.accounts import User
    from models.engine import make_engine, write_session
    from models.notifications import PushSubscription
    from server.migrate import upgrade
    from server.notify.endpoints import EndpointPolicy
    from server.notify.push import PushChannel
    from server.notify.sms import LogGateway
    from server.notify.worker import Notifier
    from server.vapid import VapidSigner, load_or_create

    engine = make_engine(f"sqlite:///{folder / 'bench.db'}")
    upgrade(engine)
    users = []
    with write_session(engine) as session:
        for i in range(n_users):
            user = User(phone=f"1990000{i:04d}", name=f"bench{i}", role=Role.PROVIDER, password_hash="x")
            session.add(user)
            session.flush()
            sub = _subscriber(f"http://{host}/push/{i}")
            session.add(PushSubscription(user_id=user.id, endpoint=sub["endpoint"], p256dh=sub["keys"]["p256dh"],
                                         auth=sub["keys"]["auth"]))
            users.append(user.id)
        session.commit()
    push = PushChannel(VapidSigner(load_or_create(folder), "mailto:bench@linli.invalid"), EndpointPolicy([host]))
    notifier = Notifier(engine, push, LogGateway(), zone=ZoneInfo("Asia/Shanghai"), policy=RetryPolicy(),
                        poll_seconds=0.5)
    notifier.begin_after(0)
    return engine, users, notifier


def _events(engine, users, n: int, start: int = 0) -> None:
    from models.engine import write_session
    from server.steps import outbox

    with write_session(engine) as session:
        for k in range(n):
            outbox.add_user_event(session, users[k % len(users)], "offer_withdrawn",
                                  {"offer_id": start + k, "reason": "taken"})
        session.commit()


def delivery_rates(n: int) -> dict:
    """Deliveries a second: the notifier end to end, and sequential pywebpush.webpush()."""
    from py_vapid import Vapid02
    from pywebpush import webpush

    from server.vapid import private_key_b64

    with Sink() as sink, tempfile.TemporaryDirectory() as tmp:
        engine, users, notifier = _world(Path(tmp), sink.host, 50)
        _events(engine, users, n)
        t0 = time.perf_counter()
        sent = notifier.run_once()
        sink.drain(sent)
        ours = sent / (time.perf_counter() - t0)
        vapid = Vapid02()
        vapid.generate_keys()
        key, m = private_key_b64(vapid), max(n // 4, 50)
        subs = [_subscriber(f"http://{sink.host}/plain/{i}") for i in range(m)]
        t0 = time.perf_counter()
        for sub in subs:
            webpush(sub, PAYLOAD, vapid_private_key=key, vapid_claims={"sub": "mailto:bench@linli.invalid"},
                    ttl=90, timeout=10)
        sink.drain(m)
        plain = m / (time.perf_counter() - t0)
        engine.dispose()
    return {"ours": ours, "plain": plain, "n": sent}


def commit_to_endpoint(n: int) -> list[float]:
    """ms from a commit that wrote an event to the push endpoint having the message."""
    from server.steps.outbox import wake_on_commit

    with Sink() as sink, tempfile.TemporaryDirectory() as tmp:
        engine, users, notifier = _world(Path(tmp), sink.host, 10)
        wake_on_commit(engine, notifier.kick)
        notifier.start()
        out = []
        for i in range(n):
            _events(engine, users, 1, start=10_000 + i)
            committed = time.monotonic()
            _, received = sink.drain(1, timeout=10)[0]
            out.append((received - committed) * 1000)
            time.sleep(0.01)
        notifier.stop()
        engine.dispose()
    return out


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def section(quick: bool) -> str:
    seconds, n, m = (0.5, 200, 50) if quick else (3.0, 2000, 300)
    crypto = crypto_rates(seconds)
    rates = delivery_rates(n)
    latency = commit_to_endpoint(m)
    goal = "✔" if crypto["ours"] >= 5000 else "✘"
    lines = [
        "push — Web Push encryption and delivery",
        "| what | measured | naive baseline (same run) | ratio | goal |",
        "| --- | --- | --- | --- | --- |",
        f"| encrypted + signed messages per CPU-second (one core), VAPID header cached | {crypto['ours']:,.0f} /s "
        f"| pywebpush.webpush() per call: {crypto['plain']:,.0f} /s | {crypto['ours'] / crypto['plain']:.1f}× "
        f"| ≥ 5,000 /s {goal} |",
        f"| the same with pywebpush's WebPusher.encode() (what `ours` replaces) | {crypto['pusher']:,.0f} /s | — | — "
        f"| {'✔' if crypto['pusher'] >= 5000 else '✘'} |",
        f"| deliveries to a local endpoint (outbox → rows → claim → send → record, SQLite, {rates['n']}) "
        f"| {rates['ours']:,.0f} /s | webpush() one after another: {rates['plain']:,.0f} /s "
        f"| {rates['ours'] / rates['plain']:.1f}× | — |",
        f"| commit → push endpoint has it ({m} sequential events) | p50 {_pct(latency, 50):.1f} ms, "
        f"p95 {_pct(latency, 95):.1f} ms | — | — | — |",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    print(section("--quick" in sys.argv))
