"""Shared fixtures: engines on SQLite and on the running PostgreSQL, the app and its client.

PostgreSQL is skipped only when unreachable outside CI; in CI (CI=true) unreachable fails.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from server.state import state
from sqlalchemy import text

from models.engine import make_engine, read_session, write_session
from server.config import Settings
from server.migrate import upgrade

PG_URL = os.environ.get("LINLI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_reachable() -> str | None:
    try:
        engine = make_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means "not here"
        return str(exc).splitlines()[0]


def _migrated_pg_schema():
    """Create and migrate a schema of its own on the running PostgreSQL; yields its URL, then drops it."""
    problem = _pg_reachable()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL unreachable in CI: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    schema = f"linli_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_schema_url():
    """A fresh schema on the running PostgreSQL, migrated; dropped at the end of the session. Tests
    share it, each in a transaction rolled back after it, but a few commit for real (races, killed
    processes): a test that counts rows across the whole database takes `own_pg_schema_url`."""
    yield from _migrated_pg_schema()


@pytest.fixture
def own_pg_schema_url():
    """A schema of this test's own (a migration each: use it only where shared rows would mislead)."""
    yield from _migrated_pg_schema()


_TEMPLATE: dict[str, Path] = {}


def sqlite_engine(tmp_path):
    """A migrated SQLite file database (WAL needs a file): a copy of one migrated per session."""
    if "path" not in _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="linli-template-"))
        template = make_engine(f"sqlite:///{folder / 'template.db'}")
        upgrade(template)
        template.dispose()  # closing the last connection checkpoints the WAL into the file
        _TEMPLATE["path"] = folder / "template.db"
    target = tmp_path / "test.db"
    shutil.copyfile(_TEMPLATE["path"], target)
    return make_engine(f"sqlite:///{target}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_session(request, tmp_path):
    """A session on a fresh SQLite database, or in a transaction rolled back after the test on PostgreSQL."""
    if request.param == "sqlite":
        engine = sqlite_engine(tmp_path)
        with write_session(engine) as session:
            yield session
        engine.dispose()
        return
    own = request.node.get_closest_marker("own_schema") is not None
    engine = make_engine(request.getfixturevalue("own_pg_schema_url" if own else "pg_schema_url"))
    connection = engine.connect()
    outer = connection.begin()
    from sqlmodel import Session

    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    yield session
    session.close()
    outer.rollback()
    connection.close()
    engine.dispose()


def test_settings(tmp_path, **overrides) -> Settings:
    """Settings for a test app: its own instance folder, rate limits off unless asked for, and no
    relay thread (tests drain it by hand), so nothing writes behind a test's back."""
    values = dict(rate_limits_enabled=False, secret_key="test-secret", port=5000, index_warm="sync",
                  index_check_seconds=0.0, relay_autostart=False)
    values.update(overrides)
    return Settings.from_env({"LINLI_INSTANCE_PATH": str(tmp_path / "instance")}, **values)


@pytest.fixture
def engine(tmp_path):
    """The migrated SQLite engine behind the test app."""
    engine = sqlite_engine(tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def app(tmp_path, engine):
    """The app on a fresh SQLite database."""
    from server import create_app

    app = create_app(test_settings(tmp_path), engine=engine)
    yield app
    state(app).relay.stop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(engine):
    """A session on the app's database, for arranging data and checking what changed.

    It begins deferred, so under WAL its reads never block the app's writers; WAL reads see a
    snapshot, so call session.rollback() before re-reading what the app changed since.
    """
    with read_session(engine) as session:
        yield session


@pytest.fixture
def fresh(engine):
    """Open a new session on the app's database, to see what requests committed:
    `with fresh() as s: ...` (the `session` fixture would hold SQLite's write lock once it reads)."""
    from models.engine import read_session

    return lambda: read_session(engine)
