"""SQLite write transactions: one writer at a time, queued on a per-file lock in this process."""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from models.engine import _write_lock, make_engine, read_session, write_session


@pytest.fixture
def db(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}", busy_timeout_ms=300)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine
    engine.dispose()


def _count(engine) -> int:
    with read_session(engine) as s:
        return s.execute(text("SELECT count(*) FROM t")).scalar_one()


def test_concurrent_writers_all_commit_one_at_a_time(db):
    inside, most, errors = [0], [0], []
    guard = threading.Lock()

    def writer():
        try:
            for _ in range(20):
                with write_session(db) as s:
                    s.execute(text("INSERT INTO t VALUES (1)"))
                    with guard:
                        inside[0] += 1
                        most[0] = max(most[0], inside[0])
                    time.sleep(0.0005)  # hold the transaction open a little
                    with guard:
                        inside[0] -= 1
                    s.commit()
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert most[0] == 1, "two write transactions were open at once"
    assert _count(db) == 160


@pytest.mark.parametrize("end", ["commit", "rollback", "close"])
def test_ending_a_write_transaction_lets_the_next_writer_in(db, end):
    first = write_session(db)
    first.execute(text("INSERT INTO t VALUES (1)"))
    getattr(first, end)()
    with write_session(db) as second:  # would wait 0.3 s and fail if the lock were still held
        second.execute(text("INSERT INTO t VALUES (2)"))
        second.commit()
    first.close()
    assert _count(db) == (2 if end == "commit" else 1)


def test_a_writer_waiting_too_long_gets_database_is_locked_and_changes_nothing(db):
    holder = write_session(db)
    holder.execute(text("INSERT INTO t VALUES (1)"))
    with write_session(db) as waiter:
        t0 = time.monotonic()
        with pytest.raises(OperationalError, match="database is locked"):
            waiter.execute(text("INSERT INTO t VALUES (2)"))
        assert 0.25 <= time.monotonic() - t0 < 5
    holder.commit()
    holder.close()
    with write_session(db) as after:  # the failed waiter left nothing held
        after.execute(text("INSERT INTO t VALUES (3)"))
        after.commit()
    assert _count(db) == 2


def test_readers_never_wait_for_a_writer(db):
    holder = write_session(db)
    holder.execute(text("INSERT INTO t VALUES (1)"))
    t0 = time.monotonic()
    assert _count(db) == 0  # WAL: the reader sees the last commit, at once
    assert time.monotonic() - t0 < 0.25
    holder.rollback()
    holder.close()


def test_a_writer_in_another_process_still_meets_sqlites_own_lock(db, tmp_path):
    # Another process (here: a plain connection outside the lock) holds the write lock: our
    # writer falls back to SQLite's busy timeout and fails cleanly, holding nothing after.
    other = sqlite3.connect(tmp_path / "w.db", isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    with write_session(db) as s:
        with pytest.raises(OperationalError, match="locked"):
            s.execute(text("INSERT INTO t VALUES (1)"))
    other.execute("ROLLBACK")
    other.close()
    with write_session(db) as s:
        s.execute(text("INSERT INTO t VALUES (2)"))
        s.commit()
    assert _count(db) == 1


def test_a_write_transaction_holds_its_files_lock_until_it_ends(db, tmp_path):
    lock = _write_lock(db.url.database)
    assert lock is _write_lock(str(tmp_path / "w.db")), "every engine on the file queues on one lock"
    with read_session(db) as reader:
        reader.execute(text("SELECT count(*) FROM t")).all()
        assert not lock.locked(), "reads do not queue"
    writer = write_session(db)
    writer.execute(text("INSERT INTO t VALUES (1)"))
    assert lock.locked()
    writer.commit()
    assert not lock.locked()
    writer.close()
