"""Ending sign-ins: the tokens are revoked and their open sockets disconnected.

Revoking writes a `session_revoked` event into the outbox in the same transaction. It is not sent
to clients: after commit every server process reads it (server.relay.Relay.watch) and disconnects
its own sockets signed in with those tokens, telling each `session_ended {reason}` first.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from models.accounts import AuthToken
from models.types import utcnow
from server import security
from server.steps.outbox import add_user_event

REVOKED = "session_revoked"  # the outbox event's type (server-side only: never emitted or replayed)
_TOKENS = AuthToken.__table__


def revoke_sessions(session: Session, user_id: int, *, reason: str, except_token: str | None = None,
                    now: datetime | None = None) -> list[int]:
    """Revoke every open sign-in of user_id but except_token (the caller's own, on a password change):
    their sockets are disconnected after commit. Returns the revoked tokens' ids; never commits."""
    query = select(_TOKENS.c.id).where(_TOKENS.c.user_id == user_id, _TOKENS.c.revoked_at.is_(None))
    if except_token is not None:
        query = query.where(_TOKENS.c.token_hash != security.token_digest(except_token))
    return _revoke(session, user_id, list(session.execute(query).scalars()), reason, now)


def revoke_token(session: Session, token: str, *, reason: str, now: datetime | None = None) -> list[int]:
    """Revoke the one sign-in behind token (logout): its sockets are disconnected after commit.
    Returns [its id], or [] when it was unknown or already revoked; never commits."""
    row = session.execute(select(_TOKENS.c.id, _TOKENS.c.user_id).where(
        _TOKENS.c.token_hash == security.token_digest(token), _TOKENS.c.revoked_at.is_(None))).first()
    return _revoke(session, row.user_id, [row.id], reason, now) if row is not None else []


_REVOKE = (update(_TOKENS).where(_TOKENS.c.id.in_(bindparam("ids", expanding=True)), _TOKENS.c.revoked_at.is_(None))
           .values(revoked_at=bindparam("now")))


def _revoke(session: Session, user_id: int, ids: list[int], reason: str, now: datetime | None) -> list[int]:
    if ids:
        session.execute(_REVOKE, {"ids": ids, "now": now or utcnow()})
        add_user_event(session, user_id, REVOKED, {"token_ids": ids, "reason": reason})
    return ids
