"""Shared fixtures: engines on SQLite and on the running PostgreSQL, the app and its client.

PostgreSQL is skipped only when unreachable outside CI; in CI (CI=true) unreachable fails.
"""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import text

from models.engine import make_engine, write_session
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


@pytest.fixture(scope="session")
def pg_schema_url():
    """A fresh schema on the running PostgreSQL, migrated; dropped at the end of the session."""
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


def sqlite_engine(tmp_path):
    """A migrated SQLite file database (WAL needs a file)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    upgrade(engine)
    return engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_session(request, tmp_path):
    """A session on a fresh SQLite database, or in a transaction rolled back after the test on PostgreSQL."""
    if request.param == "sqlite":
        engine = sqlite_engine(tmp_path)
        with write_session(engine) as session:
            yield session
        engine.dispose()
        return
    engine = make_engine(request.getfixturevalue("pg_schema_url"))
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
    """Settings for a test app: its own instance folder, rate limits off unless asked for."""
    values = dict(rate_limits_enabled=False, secret_key="test-secret", port=5000)
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

    return create_app(test_settings(tmp_path), engine=engine)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(engine):
    """A session on the app's database, for arranging data and checking what changed."""
    with write_session(engine) as session:
        yield session
