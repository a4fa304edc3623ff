"""The migrations: one head (parallel branches are merged), and a migrated database matches the
models exactly (tables, columns, indexes, constraints), on SQLite and on PostgreSQL."""
from __future__ import annotations

import importlib
import pkgutil

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import models
from models.engine import make_engine
from server.migrate import alembic_config
from tests.conftest import sqlite_engine


def _all_tables() -> None:
    for module in pkgutil.iter_modules(models.__path__):
        importlib.import_module(f"models.{module.name}")


def test_the_migrations_have_one_head(tmp_path):
    engine = sqlite_engine(tmp_path)
    assert len(ScriptDirectory.from_config(alembic_config(engine)).get_heads()) == 1
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_migrated_database_matches_the_models(request, tmp_path, backend):
    _all_tables()
    engine = sqlite_engine(tmp_path) if backend == "sqlite" else make_engine(request.getfixturevalue("pg_schema_url"))
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert diff == []
