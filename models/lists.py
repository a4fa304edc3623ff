"""`column IN (a list given at execution)` as one parameter on PostgreSQL: `column = ANY(:name)`.

An expanding IN renders a placeholder per value, so its SQL changes with the length of the list:
PostgreSQL never gets to prepare it, and past 50 parameters psycopg converts the placeholders anew
on every execution. A booking reads the visits of a 32-provider short list this way, and the sweep
the offers and seniors of 50 requests. `among(column, "ids")` sends the list as one array on
PostgreSQL (the same SQL for any length: converted once, then prepared) and stays an expanding IN
on SQLite, which has no arrays. The list is given when the statement runs: `{"ids": [...]}`.
"""
from __future__ import annotations

from sqlalchemy import any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Boolean


class among(ColumnElement):  # noqa: N801 - reads as SQL, like in_()
    """The column's value is one of the list given as parameter `name`."""

    type = Boolean()
    _is_implicitly_boolean = True  # a comparison already: no "= 1" on SQLite
    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement), ("name", InternalTraversal.dp_string)]

    def __init__(self, column, name: str):
        # An ORM attribute (Provider.id) as its table column.
        self.column = column.__clause_element__() if hasattr(column, "__clause_element__") else column
        self.name = name


@compiles(among)
def _expanding_in(element: among, compiler, **kw) -> str:
    return compiler.process(element.column.in_(bindparam(element.name, expanding=True)), **kw)


@compiles(among, "postgresql")
def _any_array(element: among, compiler, **kw) -> str:
    return compiler.process(element.column == any_(bindparam(element.name, type_=ARRAY(element.column.type))), **kw)
