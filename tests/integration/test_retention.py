"""retention.purge_stale_data on SQLite and PostgreSQL: old sign-ins and stale duty positions go."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from dispatch.catalog import Role
from models.accounts import AuthToken
from models.providers import Provider
from models.types import utcnow
from server.services.retention import purge_stale_data
from tests import factories as f


def test_purge_forgets_long_expired_tokens_and_stale_duty_positions(db_session):
    now = utcnow()
    c = f.first_community(db_session)
    u = f.user(db_session, Role.FAMILY)
    for name, expires in (("old", now - timedelta(days=8)), ("recent", now - timedelta(days=6)),
                          ("live", now + timedelta(days=1))):
        db_session.add(AuthToken(token_hash=name.ljust(64, "0"), user_id=u.id, created_at=now - timedelta(days=40),
                                 expires_at=expires))
    stale = f.provider(db_session, c, on_duty=True, duty_lat=25.79, duty_lon=113.01,
                       duty_updated_at=now - timedelta(hours=13))
    fresh = f.provider(db_session, c, on_duty=True, duty_lat=25.78, duty_lon=113.02,
                       duty_updated_at=now - timedelta(hours=11))
    db_session.commit()
    assert purge_stale_data(session=db_session, now=now) == {"tokens": 1, "duty_positions": 1}
    kept = sorted(t.token_hash.rstrip("0") for t in db_session.exec(select(AuthToken).where(AuthToken.user_id == u.id)))
    assert kept == ["live", "recent"]
    db_session.expire_all()
    assert (db_session.get(Provider, stale.id).duty_lat, db_session.get(Provider, stale.id).duty_lon) == (None, None)
    assert db_session.get(Provider, fresh.id).duty_lat == 25.78
    assert purge_stale_data(session=db_session, now=now) == {"tokens": 0, "duty_positions": 0}  # idempotent
