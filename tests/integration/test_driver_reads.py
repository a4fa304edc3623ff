"""models/driver.py: a DriverQuery reads what SQLAlchemy's Core reads (types converted, literal and
named parameters bound), on SQLite and on PostgreSQL."""
from datetime import timedelta

import pytest
from sqlalchemy import bindparam, select

from dispatch.catalog import Role
from models.accounts import AuthToken, User
from models.driver import DriverQuery, driver_connection
from models.events import Event
from models.types import utcnow
from tests import factories as f

_E, _U, _T = Event.__table__.c, User.__table__.c, AuthToken.__table__.c


def _events(session, user_id: int) -> None:
    now = utcnow()
    session.add_all([Event(type="request_updated", user_id=user_id, payload={"n": n, "名": "王"}, created_at=now,
                           relayed_at=now if n % 2 else None) for n in range(5)])
    session.commit()


STATEMENTS = {
    "events": select(_E.id, _E.type, _E.payload, _E.relayed_at, _E.created_at)
    .where(_E.user_id == bindparam("user_id"), _E.id > bindparam("after")).order_by(_E.id).limit(3),
    "relayed": select(_E.id).where(_E.relayed_at.is_not(None), _E.user_id == bindparam("user_id")),
    "sign_in": select(_U.id, _U.role, _T.expires_at).select_from(User.__table__.join(AuthToken.__table__))
    .where(_U.id == bindparam("user_id"), _T.expires_at > bindparam("now"), _U.is_active.is_(True)),
}


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_a_driver_query_reads_what_the_core_reads(db_session, name):
    s = db_session
    user = f.user(s, Role.PROVIDER)
    s.add(AuthToken(token_hash=f"h-{user.id}-{name}", user_id=user.id, created_at=utcnow(),
                    expires_at=utcnow() + timedelta(days=1)))
    _events(s, user.id)
    params = {"user_id": user.id, "after": 0, "now": utcnow()}
    statement = STATEMENTS[name]
    conn = s.connection()  # on PostgreSQL the test's rows are in its transaction: read them on its connection
    expected = [tuple(row) for row in conn.execute(statement, params)]
    got = DriverQuery(statement).all(conn.connection.driver_connection, conn.dialect, params)
    assert [tuple(row) for row in got] == expected and expected
    assert got[0]._fields == tuple(c.key for c in statement.selected_columns)


def test_a_driver_connection_reads_each_statement_in_its_own_transaction(db_session):
    engine = db_session.get_bind().engine
    query = DriverQuery(select(_E.id).where(_E.id < 0))
    with driver_connection(engine) as conn:
        assert query.all(conn, engine.dialect, {}) == []
        if engine.dialect.name == "postgresql":
            assert conn.autocommit and conn.info.transaction_status.name == "IDLE"  # no transaction left open
    with engine.connect() as again:  # handed back to the pool as it was taken (autocommit off again)
        assert engine.dialect.name != "postgresql" or not again.connection.driver_connection.autocommit


def test_expanding_parameters_are_refused(db_session):
    query = DriverQuery(select(_E.id).where(_E.id.in_(bindparam("ids", expanding=True))))
    engine = db_session.get_bind().engine
    with driver_connection(engine) as conn, pytest.raises(ValueError):
        query.all(conn, engine.dialect, {"ids": [1]})
