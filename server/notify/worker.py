"""The notifier: one loop per server process beside the Socket.IO relay.

Woken by every commit that wrote outbox events (and by a slow poll, for other processes' events,
retries and leases run out), it turns new events into deliveries, then sends the due ones
through a small pool (a hanging push service holds one worker until its timeout, not the loop)
and records each outcome under its claim. On gevent the threads are greenlets.
"""
from __future__ import annotations

import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from dispatch.deliveries import Channel, RetryPolicy, Verdict
from models.engine import read_session, write_session
from models.types import utcnow
from server.notify.messages import DueDelivery, notice_of, push_message, quiet_now, sms_text
from server.notify.push import Attempt, PushChannel
from server.notify.sms import SmsGateway
from server.services.deliveries import (claim_due_deliveries, dispatch_events, has_due_deliveries,
                                        latest_dispatched, purge_deliveries, record_attempts)

log = logging.getLogger(__name__)
LOOKBACK = 1000
PURGE_EVERY = 3600.0  # seconds between purges of old deliveries


class Notifier:
    def __init__(self, engine: Engine, push: PushChannel, sms: SmsGateway, *, zone: ZoneInfo,
                 policy: RetryPolicy | None = None, poll_seconds: float = 1.0, workers: int = 8, batch: int = 100,
                 coalesce_seconds: float = 0.01):
        self._engine = engine
        self.push = push
        self.sms = sms
        self.zone = zone
        self.policy = policy or RetryPolicy()
        self._poll = poll_seconds
        self._coalesce = coalesce_seconds
        self._batch = batch
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="linli-notify")
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._started = False
        self._lock = threading.Lock()
        self._floor: int | None = None  # events up to this one were there before this process looked
        self._newest = 0  # the newest event id this process has dispatched
        self._next_purge = time.monotonic() + 60.0
        self.counts: dict[str, int] = {}  # deliveries by the status their last attempt left them in

    def begin_after(self, event_id: int) -> None:
        """Dispatch only events after this id (tests; a fresh process starts where dispatching stopped)."""
        self._floor = self._newest = event_id

    def kick(self) -> None:
        """A commit wrote events: look now."""
        self._wake.set()

    def start(self) -> None:
        """Start the loop once."""
        with self._lock:
            if not self._started:
                self._find_floor()  # now, before any commit can wake it: later events are all sent
                threading.Thread(target=self._run, name="linli-notifier", daemon=True).start()
                self._started = True

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def _run(self) -> None:
        next_claim = 0.0
        while not self._stopping.is_set():
            if self._wake.wait(self._poll) and self._coalesce:
                time.sleep(self._coalesce)  # a burst of commits is dispatched in one transaction
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                # Retries, quiet-hour texts and leases run out are looked for on the poll's beat,
                # not after every commit: a busy server's kicks would otherwise pay for it each time.
                now = time.monotonic()
                self.run_once(claim_due=now >= next_claim)
                next_claim = max(next_claim, now + self._poll) if now >= next_claim else next_claim
                self._purge_now_and_then()
            except Exception:  # a DB hiccup must not end notifications; the next tick retries
                log.exception("notifier pass failed")

    def _purge_now_and_then(self) -> None:
        now = time.monotonic()
        if now >= self._next_purge:
            self._next_purge = now + PURGE_EVERY
            with write_session(self._engine) as session:
                log.info("notifier purge: %s", purge_deliveries(session=session, now=utcnow()))

    def run_once(self, *, claim_due: bool = True) -> int:
        """Dispatch new events and send what that claimed, and (claim_due) every other due delivery;
        returns how many were attempted."""
        attempted = 0
        while True:
            due = self.dispatch(look_back=claim_due)
            if claim_due:
                due += self._claim()
            if not due:
                return attempted
            self.send(due)
            attempted += len(due)

    def dispatch(self, *, look_back: bool = True) -> list[DueDelivery]:
        """New events into deliveries (this process claims those due now)."""
        self._find_floor()
        # On PostgreSQL an id is taken before its transaction commits, so a lower id may commit
        # after a higher one was dispatched: on the poll's beat, look a little behind the newest
        # (dispatched ones are skipped by the claim table). On SQLite ids follow commits.
        behind = LOOKBACK if look_back and self._engine.dialect.name != "sqlite" else 0
        after = max(self._floor, self._newest - behind)
        claim = secrets.token_hex(8)
        due: list[DueDelivery] = []
        while True:
            with write_session(self._engine) as session:  # a kick means events were written: no read first
                newest, claimed, more = dispatch_events(session=session, now=utcnow(), after=after, claim=claim,
                                                        policy=self.policy, zone=self.zone, limit=self._batch)
            due += claimed
            self._newest = max(self._newest, newest)
            after = newest
            if not more:
                return due

    def _find_floor(self) -> None:
        if self._floor is None:
            with read_session(self._engine) as session:
                self._floor = self._newest = latest_dispatched(session=session)

    def _claim(self) -> list[DueDelivery]:
        with read_session(self._engine) as session:
            if not has_due_deliveries(session=session, now=utcnow()):
                return []
        with write_session(self._engine) as session:
            return claim_due_deliveries(session=session, now=utcnow(), claim=secrets.token_hex(8),
                                        policy=self.policy, limit=self._batch)

    def send(self, due: list[DueDelivery]) -> None:
        """Send claimed deliveries through the pool, then record every outcome in one transaction."""
        now = utcnow()
        attempts = list(self._pool.map(lambda d: self.attempt(d, now), due))
        with write_session(self._engine) as session:
            counts = record_attempts(session=session, results=list(zip(due, attempts)), now=utcnow(),
                                     policy=self.policy)
        for status, n in counts.items():
            self.counts[status] = self.counts.get(status, 0) + n

    def attempt(self, due: DueDelivery, now) -> Attempt:
        """One send of one delivery."""
        notice = notice_of(due, now)
        if notice is None:
            return Attempt(Verdict.REFUSED, error="no longer a notice for this recipient")
        try:
            if due.channel is Channel.PUSH:
                if due.endpoint is None:
                    return Attempt(Verdict.GONE, error="unsubscribed")
                silent = not notice.bypass_quiet and quiet_now(due, now, self.zone)
                return self.push.send(push_message(due, notice, silent=silent))
            if not due.phone:
                return Attempt(Verdict.GONE, error="no phone number")
            return self.sms.send(delivery_id=due.id, phone=due.phone, text=sms_text(due, notice), kind=notice.kind)
        except Exception as exc:  # a bug in one message must not stop the rest: retried, and logged
            log.exception("delivery %s", due.id)
            return Attempt(Verdict.RETRY, error=f"{type(exc).__name__}: {exc}"[:300])
