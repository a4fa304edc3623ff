"""The outbox relay: emits committed events over Socket.IO, each exactly once across processes.

Events are rows first. A relay claims unrelayed rows with one conditional UPDATE (so with several
processes each row is claimed by one of them) and emits them in id order to the user's or the
community's room; with Redis configured the emit reaches every process's clients. A request
that wrote events kicks the relay at once; a slow poll picks up events other processes wrote
(the clock). Delivery to a client is at most once; replay by last_event_id covers the gaps.
"""
from __future__ import annotations

import logging
import threading

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Engine
from sqlmodel import select

from models.engine import read_session, write_session
from models.events import Event
from models.types import utcnow

log = logging.getLogger(__name__)
BATCH = 500
REPLAY_PAGE = 1000


def room_of(event: Event) -> str:
    """The Socket.IO room an event goes to."""
    return f"user:{event.user_id}" if event.user_id is not None else f"community:{event.community_id}"


def wire(event: Event) -> dict:
    """The payload on the wire: event_id and type beside the event's own fields."""
    return {"event_id": event.id, "type": event.type, **event.payload}


_EVENTS = Event.__table__
# One statement claims and reads a batch, built once on the table (it runs after every commit that
# wrote events). "relayed_at IS NULL" again so that of two processes racing for a row, only the
# one whose UPDATE changed it gets it back.
_CLAIM = (update(_EVENTS)
          .where(_EVENTS.c.id.in_(select(_EVENTS.c.id).where(_EVENTS.c.relayed_at.is_(None))
                                  .order_by(_EVENTS.c.id).limit(BATCH).scalar_subquery()),
                 _EVENTS.c.relayed_at.is_(None))
          .values(relayed_at=bindparam("now"))
          .returning(_EVENTS.c.id, _EVENTS.c.type, _EVENTS.c.user_id, _EVENTS.c.community_id, _EVENTS.c.payload))


class Relay:
    def __init__(self, engine: Engine, emit, *, poll_seconds: float = 0.5, autostart: bool = True):
        self._engine = engine
        self._emit = emit  # emit(event_name, payload, room)
        self._poll = poll_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._started = False
        self._autostart = autostart  # off in tests, which drain() by hand: no writer behind their back
        self._start_lock = threading.Lock()
        self._drain_lock = threading.Lock()  # replay and relay take turns, so a replay comes first

    def kick(self) -> None:
        """Something was committed: wake the relay (starting it on first use, unless autostart is off)."""
        if self._autostart:
            self.start()
        self._wake.set()

    def start(self) -> None:
        """Start the background loop once."""
        with self._start_lock:
            if not self._started:
                threading.Thread(target=self._run, name="linli-relay", daemon=True).start()
                self._started = True

    def stop(self) -> None:
        """Stop the loop (tests, shutdown); emits already claimed are finished first."""
        self._stopping.set()
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            kicked = self._wake.wait(self._poll)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                # A kick means a commit wrote events: claim straight away. A quiet poll first
                # checks with a cheap read, so an idle server never opens a write transaction.
                while (self._claim() if kicked else self.drain()) == BATCH:
                    pass
            except Exception:  # a DB hiccup must not kill the relay; the next tick retries
                log.exception("relay drain failed")

    def _claim(self) -> int:
        with self._drain_lock:
            return self._claim_and_emit()

    def drain(self) -> int:
        """Claim and emit every unrelayed event; returns how many were emitted."""
        with read_session(self._engine) as session:
            if session.exec(select(Event.id).where(Event.relayed_at.is_(None)).limit(1)).first() is None:
                return 0
        with self._drain_lock:
            return self._claim_and_emit()

    def _claim_and_emit(self) -> int:
        """drain() with _drain_lock held."""
        with write_session(self._engine) as session:
            rows = session.execute(_CLAIM, {"now": utcnow()}).all()
            session.commit()
        rows = sorted(rows, key=lambda row: row.id)
        for event in rows:
            self._emit(event.type, wire(event), room_of(event))
        return len(rows)

    def replay(self, user_id: int, communities: set[int] | None, after: int, send, join=None) -> int:
        """Send (via send(name, payload)) every event for this user after event id `after`, in order.

        join() (the caller joining its rooms) runs here, while this process's relay is held off:
        pending events are emitted first (to the clients already in the rooms), then the caller
        joins, then gets every relayed event it missed. So in this process nothing is both replayed
        and delivered live, and nothing committed before the replay comes after it. (Another
        process's emit crossing a replay may still arrive twice: clients drop repeated event_ids.)
        """
        with self._drain_lock:
            while self._claim_and_emit() == BATCH:
                pass
            if join is not None:
                join()
            sent = 0
            with read_session(self._engine) as session:
                for event in self._missed(session, user_id, communities, after):
                    send(event.type, wire(event))
                    sent += 1
        return sent

    @staticmethod
    def _missed(session, user_id: int, communities: set[int] | None, after: int):
        """Relayed events for this user after `after`, in id order, page by page.

        On PostgreSQL an id is taken before its transaction commits, so an event with a lower id
        can be relayed after `after` was: those come too (anything relayed since `after` was).
        """
        mine = Event.user_id == user_id
        addressed = mine | (Event.community_id.is_not(None) if communities is None
                            else Event.community_id.in_(communities or {-1}))
        relayed = Event.relayed_at.is_not(None)
        since = session.exec(select(Event.relayed_at).where(Event.id == after)).first()
        if since is not None:  # relayed in a later batch than `after`, though numbered before it
            yield from session.exec(select(Event).where(addressed, relayed, Event.id < after, Event.relayed_at > since)
                                    .order_by(Event.id)).all()
        seen = after
        while True:
            page = session.exec(select(Event).where(addressed, relayed, Event.id > seen)
                                .order_by(Event.id).limit(REPLAY_PAGE)).all()
            yield from page
            if len(page) < REPLAY_PAGE:
                return
            seen = page[-1].id
