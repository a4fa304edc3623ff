"""models.lists.among: the same rows as IN on both databases, for any length of list, none included."""
from __future__ import annotations

from sqlalchemy import select

from models.lists import among
from models.places import Community
from tests import factories

_IDS = select(Community.id).where(among(Community.id, "ids")).order_by(Community.id)


def test_among_finds_what_in_finds_for_any_list(db_session):
    made = sorted(factories.community(db_session).id for _ in range(3))
    db_session.flush()
    absent = max(made) + 1000
    for ids in ([made[0]], made, [absent], [made[1], absent], list(range(min(made), max(made) + 60)), []):
        expected = db_session.execute(select(Community.id).where(Community.id.in_(ids)).order_by(Community.id)).scalars()
        assert list(db_session.execute(_IDS, {"ids": ids}).scalars()) == list(expected)


def test_among_is_one_array_on_postgresql_and_an_in_list_on_sqlite():
    from sqlalchemy.dialects import postgresql, sqlite

    assert "= ANY (%(ids)s::INTEGER[])" in str(_IDS.compile(dialect=postgresql.dialect()))
    assert "IN (__[POSTCOMPILE_ids])" in str(_IDS.compile(dialect=sqlite.dialect()))
