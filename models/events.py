"""The event log (outbox) behind Socket.IO, and the Idempotency-Key store."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class Event(SQLModel, table=True):
    """One event for one user or one community's staff, written with the change it reports.

    Its id is the event_id clients see; a client reconnecting with last_event_id gets every
    later event addressed to it, in id order. relayed_at is set by the one relay that emits it.
    """

    __table_args__ = (Index("ix_event_user_id_id", "user_id", "id"),
                      Index("ix_event_community_id_id", "community_id", "id"))
    # BIGINT on PostgreSQL; INTEGER on SQLite, where only INTEGER PRIMARY KEY autoincrements.
    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"),
                                                          primary_key=True, autoincrement=True))
    type: str = Field(max_length=40)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    community_id: int | None = Field(default=None, foreign_key="community.id")
    payload: dict = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    relayed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True, index=True))


class IdempotencyKey(SQLModel, table=True):
    """A POST a person may repeat: the first response is kept and returned again for the same key."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("user_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    key: str = Field(max_length=100)
    endpoint: str = Field(max_length=200)
    body_hash: str = Field(max_length=64)
    status_code: int | None = None
    response: dict | list | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))
