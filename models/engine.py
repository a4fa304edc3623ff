"""Engine and session setup for SQLite (WAL, IMMEDIATE writes) and PostgreSQL."""
from __future__ import annotations

import os
import sqlite3
import threading

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

READONLY = "linli_readonly"


class SerializedWrites(sqlite3.Connection):
    """A pysqlite connection whose write transactions queue on a lock per database file.

    SQLite lets one writer in at a time. Its busy handler makes the others poll, sleeping 1, 2, 5,
    10, 15, 20, 25 ms and on, so under load the lock often sits free while every waiter sleeps.
    Writers of this process first queue on a Python lock, which hands over the moment a writer
    commits or rolls back; the busy handler is left for writers in other processes.
    """

    _held: threading.Lock | None = None

    def hold(self, lock: threading.Lock) -> None:
        """Note that this connection's transaction holds lock (taken by the caller)."""
        self._held = lock

    def release(self) -> None:
        """Let the next writer in (after COMMIT or ROLLBACK, or when BEGIN failed)."""
        held, self._held = self._held, None
        if held is not None:
            held.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release()


_FILE_LOCKS: dict[str, threading.Lock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


def _write_lock(database: str | None) -> threading.Lock:
    """The lock of one database file, shared by every engine of this process on it."""
    if not database or database == ":memory:":
        return threading.Lock()  # a private in-memory database: its engine's own lock
    key = os.path.realpath(database)
    with _FILE_LOCKS_GUARD:
        return _FILE_LOCKS.setdefault(key, threading.Lock())


def make_engine(url: str, *, busy_timeout_ms: int = 5000, echo: bool = False) -> Engine:
    """Create the engine for url; SQLite gets WAL, busy_timeout and BEGIN IMMEDIATE for writes."""
    if not url.startswith("sqlite"):
        return _postgres_engine(url, echo=echo)
    kwargs: dict = {"connect_args": {"check_same_thread": False, "timeout": busy_timeout_ms / 1000,
                                     "factory": SerializedWrites}}
    if url in ("sqlite://", "sqlite:///:memory:"):
        kwargs["poolclass"] = StaticPool
    else:
        # Keep as many connections as a busy process uses at once: past pool_size, each checkout
        # opened a new connection (and its PRAGMAs) and closed it after, 7% of a booking's CPU.
        kwargs.update(pool_size=20, max_overflow=20)
    engine = create_engine(url, echo=echo, **kwargs)
    _configure_sqlite(engine, busy_timeout_ms)
    return engine


PG_POOL_SIZE = int(os.environ.get("LINLI_PG_POOL_SIZE", "20"))
PG_PREPARE_THRESHOLD = int(os.environ.get("LINLI_PG_PREPARE_THRESHOLD", "2"))


def _postgres_engine(url: str, *, echo: bool) -> Engine:
    """PostgreSQL (psycopg 3) with a warm pool and no round trip a booking can do without.

    - The pool keeps as many connections as a busy process uses at once (past pool_size, each
      checkout opened a connection and closed it after: 26 backends seen in a 4-s run with 8
      clients), and hands out the most recently used first.
    - No pre-ping: it cost a `SELECT 1` round trip on every checkout. After PostgreSQL restarts, the
      first statement on a dead connection fails, and SQLAlchemy then drops every older pooled
      connection, so one request per process sees the error instead of none.
    - Statements are prepared on their second use (psycopg's prepare_threshold).
    - Read-only sessions run in autocommit (see _configure_postgres).
    """
    engine = create_engine(url, echo=echo, pool_size=PG_POOL_SIZE, max_overflow=PG_POOL_SIZE, pool_use_lifo=True,
                           connect_args={"prepare_threshold": PG_PREPARE_THRESHOLD})
    # A multi-row INSERT without RETURNING (history steps, outbox events) as one INSERT … VALUES
    # (…), (…) statement, as with RETURNING, instead of psycopg's executemany in a pipeline.
    engine.dialect.use_insertmanyvalues_wo_returning = True
    _configure_postgres(engine)
    _wait_on_gevent_watchers()
    return engine


def _wait_on_gevent_watchers() -> None:
    """In a process patched by gevent, psycopg waits for its socket through gevent's emulation of
    select.poll (a poll object, watchers started and stopped, a timer, for every round trip). Waiting
    on one libev io watcher instead costs 53 µs of CPU a round trip, not 64 (a prepared SELECT 1)."""
    from gevent import monkey

    if not monkey.is_module_patched("select"):
        return
    from psycopg import waiting

    if getattr(waiting.wait, "__name__", "") != "wait_on_gevent_watcher":
        waiting.wait = _gevent_wait(waiting.wait)


def _gevent_wait(fallback):
    from gevent import get_hub

    def wait_on_gevent_watcher(gen, fileno: int, interval: float = 0.0, timeout: float | None = None):
        """psycopg's wait(): run gen, waiting (in this greenlet) for fileno as each step asks."""
        if timeout is not None:  # cancelling a query and the like: psycopg's own wait keeps the deadline
            return fallback(gen, fileno, interval=interval, timeout=timeout)
        hub = get_hub()
        try:
            wanted = next(gen)
            while True:
                watcher = hub.loop.io(fileno, wanted)  # psycopg's Wait.R/W/RW are libev's READ/WRITE bits
                try:
                    hub.wait(watcher)
                finally:
                    watcher.close()
                # Ready for what was asked: with RW only one may be, and libpq's non-blocking flush or
                # read then does nothing, and psycopg asks again.
                wanted = gen.send(wanted)
        except StopIteration as done:
            return done.value

    return wait_on_gevent_watcher


def _configure_postgres(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def on_begin(conn):
        # A read-only session sends no BEGIN and no ROLLBACK: each statement is its own transaction,
        # which under READ COMMITTED sees what a transaction's statement would. psycopg forgets every
        # prepared statement of a connection (and sends DEALLOCATE ALL) on each ROLLBACK, so read
        # sessions ending in one kept the hot statements from ever staying prepared.
        if conn.get_execution_options().get(READONLY):
            conn.connection.dbapi_connection.autocommit = True

    @event.listens_for(engine, "checkin")
    def on_checkin(dbapi_connection, _record):
        if dbapi_connection is not None and dbapi_connection.autocommit:
            dbapi_connection.autocommit = False


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    lock = _write_lock(engine.url.database)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Take transaction control away from pysqlite so "begin" below decides the mode.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        # Writers take the lock up front so two writers never deadlock on lock upgrade;
        # read-only sessions begin deferred and never block writers under WAL.
        if conn.get_execution_options().get(READONLY):
            # On the driver's connection: a statement through SQLAlchemy's execution machinery cost
            # several times more, and every read (each GET, each socket connect) begins one. A deferred
            # BEGIN takes no lock, so it cannot meet "database is locked" (which must come wrapped).
            conn.connection.dbapi_connection.execute("BEGIN")
        else:
            _begin_write(conn, lock, busy_timeout_ms / 1000)


def _begin_write(conn, lock: threading.Lock, timeout_s: float) -> None:
    """Queue on this file's lock (failing as SQLite would after timeout_s), then BEGIN IMMEDIATE."""
    if not lock.acquire(timeout=timeout_s):
        raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))
    dbapi_connection = conn.connection.dbapi_connection
    dbapi_connection.hold(lock)
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # through SQLAlchemy: "locked" is wrapped, and answered 503
    except BaseException:
        dbapi_connection.release()
        raise


def write_session(engine: Engine) -> Session:
    """A session whose transactions may write (BEGIN IMMEDIATE on SQLite)."""
    return Session(engine, expire_on_commit=False)


def read_session(engine: Engine) -> Session:
    """A session for reads only (deferred BEGIN on SQLite)."""
    return Session(engine.execution_options(**{READONLY: True}), expire_on_commit=False)
