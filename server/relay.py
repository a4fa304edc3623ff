"""The outbox relay: emits committed events over Socket.IO, each exactly once across processes.

Events are rows first. A relay claims unrelayed rows with one conditional UPDATE (so with several
processes each row is claimed by one of them) and emits them in id order to the user's or the
community's room; with Redis configured the emit reaches every process's clients. A request
that wrote events kicks the relay at once; a slow poll picks up events other processes wrote
(the clock). Delivery to a client is at most once; replay by last_event_id covers the gaps.

`session_revoked` events are for the servers, not the clients: every process's relay reads them
(watch(), after each claim and on each poll) and ends its own sockets signed in with those tokens;
watch() also ends the sockets whose sign-in expired.
"""
from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import bindparam, func, update
from sqlalchemy.engine import Engine
from sqlmodel import select

from models.accounts import StaffCommunity
from models.driver import DriverQuery, driver_connection
from models.engine import READONLY, read_session, write_session
from models.events import Event
from models.types import utcnow
from server.steps.sessions import REVOKED

log = logging.getLogger(__name__)
BATCH = 500
REPLAY_PAGE = 1000
WATCH_SECONDS = 0.2


def room_of(event: Event) -> str:
    """The Socket.IO room an event goes to."""
    return f"user:{event.user_id}" if event.user_id is not None else f"community:{event.community_id}"


def wire(event: Event) -> dict:
    """The payload on the wire: event_id and type beside the event's own fields."""
    return {"event_id": event.id, "type": event.type, **event.payload}


_EVENTS = Event.__table__
# One statement claims and reads a batch, built once on the table (it runs after every commit that
# wrote events). "relayed_at IS NULL" again so that of two processes racing for a row, only the
# one whose UPDATE changed it gets it back; on PostgreSQL the other skips rows being claimed instead
# of waiting for them (SQLite, one writer at a time, has no FOR UPDATE and SQLAlchemy leaves it out).
_CLAIM = (update(_EVENTS)
          .where(_EVENTS.c.id.in_(select(_EVENTS.c.id).where(_EVENTS.c.relayed_at.is_(None))
                                  .order_by(_EVENTS.c.id).limit(BATCH).with_for_update(skip_locked=True)
                                  .scalar_subquery()),
                 _EVENTS.c.relayed_at.is_(None))
          .values(relayed_at=bindparam("now"))
          .returning(_EVENTS.c.id, _EVENTS.c.type, _EVENTS.c.user_id, _EVENTS.c.community_id, _EVENTS.c.payload))


_LAST_EVENT = select(func.max(_EVENTS.c.id))
# The replay's reads run on the driver's connection (models/driver.py): a reconnect storm runs them
# for every socket.
_PENDING = DriverQuery(select(_EVENTS.c.id).where(_EVENTS.c.relayed_at.is_(None)).limit(1))
_WIRE = (_EVENTS.c.id, _EVENTS.c.type, _EVENTS.c.payload)


def _replay_statements():
    """The replay's reads, built once for each kind of reader: a user only, a user and their
    communities (staff: the communities they answer for), a user and every community (an admin)."""
    c = _EVENTS.c
    mine = c.user_id == bindparam("user_id")
    staff = StaffCommunity.__table__.c
    theirs = select(staff.community_id).where(staff.user_id == bindparam("user_id")).scalar_subquery()
    addressed = {"user": mine, "some": mine | c.community_id.in_(theirs), "all": mine | c.community_id.is_not(None)}
    relayed = c.relayed_at.is_not(None) & (c.type != REVOKED)
    late = {kind: DriverQuery(select(*_WIRE).where(where, relayed, c.id < bindparam("after"),
                                                   c.relayed_at > bindparam("since")).order_by(c.id))
            for kind, where in addressed.items()}
    page = {kind: DriverQuery(select(*_WIRE).where(where, relayed, c.id > bindparam("after")).order_by(c.id)
                              .limit(bindparam("limit"))) for kind, where in addressed.items()}
    return DriverQuery(select(c.relayed_at).where(c.id == bindparam("after"))), late, page


_RELAYED_AT, _LATE, _PAGE = _replay_statements()
# New revocations since the last look: a range of the primary key, so it reads only the newest rows.
_REVOCATIONS = (select(_EVENTS.c.id, _EVENTS.c.payload)
                .where(_EVENTS.c.id > bindparam("after"), _EVENTS.c.type == REVOKED).order_by(_EVENTS.c.id))


def emit_batch(server, items: list[tuple[str, dict, str]]) -> None:
    """Emit each (event name, payload, room) in order, as the Socket.IO server's emit(name, payload,
    to=room) would, but with a Redis queue publish them all in one round trip (a pipeline of the
    same PUBLISH messages, so every process, of any version, reads what it read before).

    A booking's claim emits six events: six PUBLISH round trips were about a fifth of what Redis
    added to a booking's CPU in one process.
    """
    from socketio import RedisManager

    manager = server.manager
    if len(items) < 2 or not isinstance(manager, RedisManager):
        for name, payload, room in items:
            server.emit(name, payload, to=room, namespace="/")
        return
    messages = []
    for name, payload, room in items:  # PubSubManager.emit's message for emit(name, payload, to=room)
        message = {"method": "emit", "event": name, "data": [payload], "binary": False, "namespace": "/",
                   "room": room, "skip_sid": None, "callback": None, "host_id": manager.host_id}
        manager._handle_emit(message)  # this process's sockets
        messages.append(message)
    _publish_all(manager, messages)


def _publish_all(manager, messages: list[dict]) -> None:
    """RedisManager._publish for several messages in one pipeline (two attempts, errors logged)."""
    for retries_left in (1, 0):
        try:
            if not manager.connected:
                manager._redis_connect()
            pipe = manager.redis.pipeline(transaction=False)
            for message in messages:
                pipe.publish(manager.channel, manager.json.dumps(message))
            pipe.execute()
            return
        except Exception as exc:  # as RedisManager._publish: retry once on a new connection, then give up
            manager.connected = False
            log.error("Cannot publish to redis... %s", "retrying" if retries_left else "giving up",
                      extra={"redis_exception": str(exc)})


class Relay:
    def __init__(self, engine: Engine, emit, *, poll_seconds: float = 0.5, autostart: bool = True,
                 sessions=None, emit_many=None):
        self._engine = engine
        self._reader = engine.execution_options(**{READONLY: True})  # read_session's, for Core reads
        # On PostgreSQL the claim is one statement and its own transaction (the read-only option runs
        # the connection in autocommit, models/engine.py): no BEGIN and COMMIT round trips after
        # every commit that wrote events. SQLite's writes must BEGIN IMMEDIATE (write_session).
        self._single_statement = self._reader if engine.dialect.name == "postgresql" else None
        self._emit = emit  # emit(event_name, payload, room)
        self._emit_many = emit_many  # emit_many([(event_name, payload, room), ...]), in order; or one by one
        self.sessions = sessions  # this process's sockets (server.sockets.sessions.SocketSessions)
        self._revoked_seen: int | None = None  # the last session_revoked event id handled here
        self._watched = 0.0  # when watch() last read the database (time.monotonic)
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
            if not self._started and not self._stopping.is_set():
                threading.Thread(target=self._run, name="linli-relay", daemon=True).start()
                self._started = True

    def stop(self) -> None:
        """Stop the loop (tests, shutdown; `linli clock` before it ever starts); emits already claimed
        are finished first."""
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
                self.watch(throttle=True)
            except Exception:  # a DB hiccup must not kill the relay; the next tick retries
                log.exception("relay drain failed")

    def _claim(self) -> int:
        with self._drain_lock:
            return self._claim_and_emit()

    def drain(self) -> int:
        """Claim and emit every unrelayed event, then watch(); returns how many were emitted."""
        with read_session(self._engine) as session:
            pending = session.exec(select(Event.id).where(Event.relayed_at.is_(None)).limit(1)).first()
        emitted = 0
        if pending is not None:
            with self._drain_lock:
                emitted = self._claim_and_emit()
        self.watch()
        return emitted

    def watching(self) -> None:
        """Watch for revocations from now on (the first socket's connect calls this before its
        sign-in is checked: a revocation committed before that check refuses the sign-in itself)."""
        if self._revoked_seen is None:
            with self._reader.connect() as conn:
                seen = conn.execute(_LAST_EVENT).scalar() or 0
            if self._revoked_seen is None:
                self._revoked_seen = seen

    def watch(self, *, throttle: bool = False) -> int:
        """End this process's sockets whose sign-in was revoked (in any process) since the last look,
        or has expired; returns how many were ended. throttle: look in the database at most every
        WATCH_SECONDS (the loop runs after every commit that wrote events)."""
        if self.sessions is None or self._revoked_seen is None:  # no socket has connected yet
            return 0
        ended = self.sessions.expire(utcnow())
        now = time.monotonic()
        if throttle and now - self._watched < WATCH_SECONDS:
            return ended
        self._watched = now
        with self._reader.connect() as conn:
            rows = conn.execute(_REVOCATIONS, {"after": self._revoked_seen}).all()
        for row in rows:
            self._revoked_seen = max(self._revoked_seen, row.id)
            ended += self.sessions.revoke(list(row.payload.get("token_ids") or ()), row.payload.get("reason", ""))
        return ended

    def _claim_and_emit(self) -> int:
        """drain() with _drain_lock held."""
        if self._single_statement is not None:
            with self._single_statement.connect() as conn:
                rows = conn.execute(_CLAIM, {"now": utcnow()}).all()
        else:
            with write_session(self._engine) as session:
                rows = session.execute(_CLAIM, {"now": utcnow()}).all()
                session.commit()
        rows = sorted(rows, key=lambda row: row.id)
        emits = [(event.type, wire(event), room_of(event)) for event in rows
                 if event.type != REVOKED]  # those are for the servers (watch()), not the clients
        if self._emit_many is not None:
            self._emit_many(emits)
        else:
            for emit in emits:
                self._emit(*emit)
        return len(rows)

    def replay(self, user_id: int, communities: set[int] | None, after: int, send, join=None) -> int:
        """Send (via send(name, payload)) every event for this user after event id `after`, in order.

        join() (the caller joining its rooms) runs here, while this process's relay is held off:
        pending events are emitted first (to the clients already in the rooms), then the caller
        joins, then gets every relayed event it missed. So in this process nothing is both replayed
        and delivered live, and nothing committed before the replay comes after it. (Another
        process's emit crossing a replay may still arrive twice: clients drop repeated event_ids.)
        A reconnect storm replays for every socket: the claim's write transaction is taken only
        when a cheap read finds events pending, and the reads are on the tables, not the ORM.
        """
        with self._drain_lock, driver_connection(self._engine) as conn:  # each read its own transaction
            if _PENDING.first(conn, self._engine.dialect, {}) is not None:
                while self._claim_and_emit() == BATCH:
                    pass
            if join is not None:
                join()
            sent = 0
            for event in self._missed(conn, user_id, communities, after):
                send(event.type, {"event_id": event.id, "type": event.type, **event.payload})
                sent += 1
        return sent

    def _missed(self, conn, user_id: int, communities: set[int] | None, after: int):
        """Relayed events for this user after `after`, in id order, page by page; communities: None
        for every community (an admin), a non-empty set for the staff's own (read from their
        staff_community rows), empty for none.

        On PostgreSQL an id is taken before its transaction commits, so an event with a lower id
        can be relayed after `after` was: those come too (anything relayed since `after` was).
        """
        kind = "all" if communities is None else "some" if communities else "user"
        dialect, params = self._engine.dialect, {"user_id": user_id, "after": after}
        since = _RELAYED_AT.first(conn, dialect, params)
        if since is not None and since.relayed_at is not None:  # relayed in a later batch, numbered before
            yield from _LATE[kind].all(conn, dialect, {**params, "since": since.relayed_at})
        while True:
            page = _PAGE[kind].all(conn, dialect, {**params, "limit": REPLAY_PAGE})
            yield from page
            if len(page) < REPLAY_PAGE:
                return
            params["after"] = page[-1].id
