"""Reads on the database driver's own connection, for the few statements every socket connect runs.

A reconnect storm signs in and replays for thousands of sockets at once. Through SQLAlchemy's
Connection, each of a connect's four small SELECTs went through the compiled-statement cache, an
execution context and result metadata: a third of the connect's CPU. A DriverQuery is compiled once
per dialect into the driver's SQL and parameter order, and its rows are converted by the same
column types' processors, so it reads what the Core would, for a fraction of the work.
"""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select


class DriverQuery:
    """A SELECT without expanding (IN-list) parameters, run on a driver connection."""

    def __init__(self, statement: Select):
        self.statement = statement
        self._compiled: dict[str, tuple] = {}

    def _for(self, dialect):
        prepared = self._compiled.get(dialect.name)
        if prepared is None:
            compiled = self.statement.compile(dialect=dialect)
            if any(bind.expanding for bind in compiled.binds.values()):
                raise ValueError("a DriverQuery takes no expanding parameters")
            names = compiled.positiontup if compiled.positional else list(compiled.bind_names.values())
            binds = {name: bind.type._cached_bind_processor(dialect)
                     for bind, name in compiled.bind_names.items()}
            literal = {name: bind.value for bind, name in compiled.bind_names.items() if not bind.required}
            columns = self.statement.selected_columns
            results = [column.type._cached_result_processor(dialect, None) for column in columns]
            row = namedtuple("Row", [column.key for column in columns])
            prepared = self._compiled[dialect.name] = (compiled.string, compiled.positional, names, binds, literal,
                                                       results, row)
        return prepared

    def all(self, connection, dialect, params: dict, *, convert: bool = True) -> list:
        """The rows for params (a dict by the statement's bind names), as named tuples; with
        convert=False, as the driver gives them (for a caller that converts repeated values once)."""
        sql, positional, names, binds, literal, results, row = self._for(dialect)
        values = {**literal, **params}
        bound = {name: (binds[name](values[name]) if binds[name] else values[name]) for name in names}
        cursor = connection.cursor()
        try:
            cursor.execute(sql, [bound[name] for name in names] if positional else bound)
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        if convert and any(results):
            return [row._make(f(v) if f else v for f, v in zip(results, raw, strict=True)) for raw in fetched]
        return [row._make(raw) for raw in fetched]

    def first(self, connection, dialect, params: dict):
        rows = self.all(connection, dialect, params)
        return rows[0] if rows else None


@contextmanager
def driver_connection(engine: Engine) -> Iterator:
    """A pooled driver connection for reads, each statement its own transaction: PostgreSQL in
    autocommit (no BEGIN, and no ROLLBACK to drop the prepared statements; the pool's checkin turns
    it off again, models/engine.py), SQLite as the engine opens it (autocommit, WAL reads take no lock)."""
    pooled = engine.raw_connection()
    try:
        connection = pooled.driver_connection
        if engine.dialect.name == "postgresql":
            connection.autocommit = True
        yield connection
    finally:
        pooled.close()
