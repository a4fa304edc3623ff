"""Retention: what the platform stops keeping once it no longer needs it (PIPL minimisation)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, delete, select

from models.accounts import AuthToken
from models.providers import Provider
from server.steps.directory import bump_revision

TOKEN_GRACE = timedelta(days=7)
DUTY_POSITION_TTL = timedelta(hours=12)


def purge_stale_data(*, session: Session, now: datetime) -> dict[str, int]:
    """Delete long-expired sign-ins and forget on-duty positions not refreshed for 12 hours."""
    tokens = session.exec(delete(AuthToken).where(AuthToken.expires_at < now - TOKEN_GRACE)).rowcount
    stale = session.exec(select(Provider).where(Provider.duty_lat.is_not(None),
                                                Provider.duty_updated_at < now - DUTY_POSITION_TTL)).all()
    for provider in stale:
        provider.duty_lat = provider.duty_lon = None
        bump_revision(session, provider)
    session.commit()
    return {"tokens": tokens or 0, "duty_positions": len(stale)}
