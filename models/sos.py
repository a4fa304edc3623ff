"""SOS alerts: an elder's call for help, who was alerted, who answered."""
from __future__ import annotations

from datetime import datetime

from pydantic import Field as PField
from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.accounts import STRICT
from models.types import Id, Latitude, Longitude, UTCDateTime, utcnow

_OPEN = text("status <> 'resolved'")


class SosAlert(SQLModel, table=True):
    __tablename__ = "sos_alert"
    # At most one open (open or acknowledged) alert per senior: a second SOS returns the open one.
    __table_args__ = (Index("uq_sos_alert_one_open", "senior_id", unique=True, sqlite_where=_OPEN,
                            postgresql_where=_OPEN),)
    id: int | None = Field(default=None, primary_key=True)
    senior_id: int = Field(foreign_key="senior.id", index=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    status: str = Field(default="open", max_length=16, index=True)
    lat: float
    lon: float
    located_by: str = Field(default="home", max_length=10)  # device | home
    opened_by: int = Field(foreign_key="user.id")
    opened_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    responders: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    acked_by: int | None = Field(default=None, foreign_key="user.id")
    acked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    resolved_by: int | None = Field(default=None, foreign_key="user.id")
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    note: str | None = Field(default=None, max_length=500)
    escalations: int = 0
    last_escalated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class SosAck(SQLModel, table=True):
    """One person who has seen an alert and said so (the first one moves it to acknowledged)."""
    __tablename__ = "sos_ack"
    __table_args__ = (UniqueConstraint("sos_id", "user_id", name="uq_sos_ack_once"),)
    id: int | None = Field(default=None, primary_key=True)
    sos_id: int = Field(foreign_key="sos_alert.id")
    user_id: int = Field(foreign_key="user.id")
    role: str = Field(max_length=16)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SosAckPublic(SQLModel):
    user_id: int
    role: str
    at: datetime
    name: str | None = None


class SosCreate(SQLModel):
    model_config = STRICT
    senior_id: Id
    lat: Latitude | None = None
    lon: Longitude | None = None


class SosResolve(SQLModel):
    model_config = STRICT
    note: str = PField(min_length=1, max_length=500)


class SosPublic(SQLModel):
    id: int
    senior_id: int
    community_id: int
    status: str
    lat: float
    lon: float
    located_by: str
    opened_at: datetime
    acked_at: datetime | None
    resolved_at: datetime | None
    note: str | None
    escalations: int
    senior_name: str | None = None
    created_at: datetime | None = None
    acks: list[SosAckPublic] = []
