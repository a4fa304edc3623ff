"""Writes to the audit log, inside the caller's transaction."""
from __future__ import annotations

from sqlmodel import Session

from models.accounts import User
from models.audit import AuditLog


def record(session: Session, actor: User | None, action: str, object_type: str,
           object_id: int | None, **detail) -> None:
    """Add one audit row; it commits with the use case that caused it."""
    session.add(AuditLog(actor_id=actor.id if actor else None, action=action,
                         object_type=object_type, object_id=object_id, detail=detail))
