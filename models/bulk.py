"""Many rows into one table with one short statement: the rows travel as one JSON parameter.

SQLAlchemy's multi-row INSERT ("insertmanyvalues") renders `INSERT … VALUES (…), (…)` with a
parameter per value. Such a statement differs with every number of rows, so PostgreSQL never gets
to prepare it, and past 4 KiB or 50 parameters psycopg converts its placeholders anew on every
execution: a third of the clock's CPU in a sweep of 50 requests (150 offers, 600 events). A
JsonInsert's SQL is the same whatever the number of rows (converted once, prepared on PostgreSQL),
and its rows are one orjson.dumps instead of a bind processor per value (the standard library's
encoder took 8 to 15 µs a row, a sixth of a sweep's CPU; orjson about a tenth of that):

    PostgreSQL  INSERT INTO t (a, b) SELECT a, b FROM json_to_recordset(CAST(:rows AS json)) AS r(a INTEGER, b JSON)
    SQLite      INSERT INTO t (a, b) SELECT value ->> 'a', value ->> 'b' FROM json_each(:rows)

Values are what the columns take: numbers, text (StrEnum members are text), None, booleans,
dicts and lists for JSON columns, aware datetimes for UTCDateTime columns (written as the Core
writes them: naive UTC text on SQLite, so that stored values compare equal whoever wrote them).
"""
from __future__ import annotations

from datetime import datetime, timezone

import orjson
from sqlalchemy import Table, text
from sqlalchemy.engine import Result


def moment_text(moment: datetime) -> str:
    """An aware datetime as SQLite's DateTime column stores it (naive UTC, microseconds)."""
    return f"{moment.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S.%f}"


def _encoder(moment):
    def default(value):
        if isinstance(value, datetime):
            if value.tzinfo is None:  # as UTCDateTime refuses it
                raise ValueError("naive datetime given to a UTC column")
            return moment(value)
        raise TypeError(f"{type(value).__name__} is not a column value")

    def encode(rows: list[dict]) -> str:
        # Text, not bytes: psycopg would send bytes as bytea, and SQLite read a blob as JSONB.
        return orjson.dumps(rows, default=default, option=orjson.OPT_PASSTHROUGH_DATETIME).decode()
    return encode


_ENCODE = {"sqlite": _encoder(moment_text), "postgresql": _encoder(datetime.isoformat)}


class JsonInsert:
    """INSERT of many rows (dicts with exactly `columns` as keys) into table, RETURNING `returning`."""

    def __init__(self, table: Table, columns: tuple[str, ...], returning: tuple[str, ...] = ()):
        self.table, self.columns, self.returning = table, columns, returning
        self._sql: dict[str, object] = {}

    def _statement(self, dialect):
        statement = self._sql.get(dialect.name)
        if statement is None:
            quote = dialect.identifier_preparer.quote
            names = ", ".join(quote(name) for name in self.columns)
            if dialect.name == "sqlite":
                values = ", ".join(f"value ->> '{name}'" for name in self.columns)
                source = "json_each(:rows)"
            elif dialect.name == "postgresql":
                values = names
                typed = ", ".join(f"{quote(name)} {self.table.c[name].type.compile(dialect=dialect)}"
                                  for name in self.columns)
                source = f"json_to_recordset(CAST(:rows AS json)) AS r({typed})"
            else:
                raise NotImplementedError(dialect.name)
            returning = f" RETURNING {', '.join(quote(name) for name in self.returning)}" if self.returning else ""
            statement = self._sql[dialect.name] = text(
                f"INSERT INTO {quote(self.table.name)} ({names}) SELECT {values} FROM {source}{returning}")
        return statement

    def execute(self, session, rows: list[dict]) -> Result:
        """Insert rows on the session's (or connection's) transaction; rows is not empty."""
        bind = session.get_bind() if hasattr(session, "get_bind") else session
        dialect = bind.dialect
        return session.execute(self._statement(dialect), {"rows": _ENCODE[dialect.name](rows)})
