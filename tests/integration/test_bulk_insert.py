"""models.bulk.JsonInsert writes what the ORM writes: the same values back, and stored so that SQL
compares them alike (dates in particular), on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from models.bulk import JsonInsert
from models.events import Event
from tests import factories

_COLUMNS = ("type", "user_id", "community_id", "payload", "created_at")
_INSERT = JsonInsert(Event.__table__, _COLUMNS, returning=("id", "type"))
# Not UTC, with microseconds: the stored moment is the same instant whoever wrote it.
_AT = datetime(2026, 12, 1, 20, 5, 7, 123456, tzinfo=timezone(timedelta(hours=8)))


def _rows(community_id: int) -> list[dict]:
    return [
        {"type": "offer_created", "user_id": None, "community_id": community_id, "created_at": _AT,
         "payload": {"offer": {"id": 7, "score": 81.5, "asap": True, "note": None, "reasons": ["近", "熟客"]}}},
        {"type": "request_updated", "user_id": None, "community_id": community_id,
         "created_at": _AT + timedelta(microseconds=1), "payload": {"text": "王奶奶 \"助浴\" \\ 'ok'", "n": -3}},
    ]


def _stored(session, ids) -> list[tuple]:
    found = session.execute(select(Event).where(Event.id.in_(ids)).order_by(Event.id)).scalars().all()
    return [(e.type, e.user_id, e.community_id, e.payload, e.created_at) for e in found]


def test_json_rows_read_back_as_the_orm_writes_them(db_session):
    place = factories.community(db_session)
    db_session.flush()
    rows = _rows(place.id)
    returned = _INSERT.execute(db_session, [dict(r) for r in rows]).all()
    assert sorted(t for _id, t in returned) == ["offer_created", "request_updated"]
    orm = [Event(**r) for r in rows]
    db_session.add_all(orm)
    db_session.flush()
    db_session.expire_all()
    by_json = _stored(db_session, [i for i, _t in sorted(returned)])
    by_orm = _stored(db_session, [e.id for e in orm])
    assert by_json == by_orm
    assert by_json[0][4] == _AT and by_json[0][4].tzinfo is not None


def test_dates_written_either_way_compare_alike_in_sql(db_session):
    place = factories.community(db_session)
    db_session.flush()
    rows = _rows(place.id)
    _INSERT.execute(db_session, [rows[0]])
    db_session.add(Event(**rows[1]))
    db_session.flush()
    at_or_after = select(Event.type).where(Event.community_id == place.id, Event.created_at >= _AT)
    after = select(Event.type).where(Event.community_id == place.id, Event.created_at > _AT)
    assert sorted(db_session.execute(at_or_after).scalars()) == ["offer_created", "request_updated"]
    assert list(db_session.execute(after).scalars()) == ["request_updated"]


def _refusal(session, row) -> str:
    """What inserting row raised (the messages of the exception and its causes)."""
    try:
        _INSERT.execute(session, [row])
    except (TypeError, ValueError) as error:
        messages = []
        while error is not None:
            messages.append(str(error))
            error = error.__cause__
        return " / ".join(messages)
    raise AssertionError(f"{row} was written")


def test_a_value_that_is_not_a_column_value_is_refused(db_session):
    place = factories.community(db_session)
    db_session.flush()
    assert "not a column value" in _refusal(db_session, {**_rows(place.id)[0], "payload": {"when": object()}})
    assert "naive" in _refusal(db_session, {**_rows(place.id)[0], "created_at": _AT.replace(tzinfo=None)})
