"""Complaints a senior or their family file about a visit, and how the center's staff resolved them."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field as PField
from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from dispatch.lifecycle import ComplaintStatus
from models.accounts import STRICT
from models.types import EnumText, UTCDateTime, utcnow


class ComplaintCategory(StrEnum):
    LATE = "late"
    NO_SHOW = "no_show"
    RUDE = "rude"
    QUALITY = "quality"
    SAFETY = "safety"
    OTHER = "other"


class Complaint(SQLModel, table=True):
    # The staff queue reads "open complaints of my communities"; one filer complains once per visit.
    __table_args__ = (Index("ix_complaint_community_status", "community_id", "status"),
                      UniqueConstraint("request_id", "filed_by", name="uq_complaint_once"))
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="service_request.id", index=True)
    provider_id: int = Field(foreign_key="provider.id", index=True)
    senior_id: int = Field(foreign_key="senior.id", index=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    filed_by: int = Field(foreign_key="user.id", index=True)
    category: ComplaintCategory = Field(sa_column=Column(EnumText(ComplaintCategory), nullable=False))
    text: str = Field(max_length=1000)
    status: ComplaintStatus = Field(default=ComplaintStatus.OPEN,
                                    sa_column=Column(EnumText(ComplaintStatus), nullable=False))
    upheld: bool | None = None
    resolution: str | None = Field(default=None, max_length=500)
    resolved_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class ComplaintCreate(SQLModel):
    model_config = STRICT
    category: ComplaintCategory
    text: str = PField(min_length=2, max_length=1000)


class ComplaintResolve(SQLModel):
    model_config = STRICT
    upheld: bool
    resolution: str = PField(min_length=2, max_length=500)


class ComplaintQuery(SQLModel):
    status: Literal["open", "resolved", "all"] = "open"


class ComplaintPublic(SQLModel):
    id: int
    request_id: int
    provider_id: int
    senior_id: int
    community_id: int
    category: ComplaintCategory
    text: str
    status: ComplaintStatus
    created_at: datetime
    upheld: bool | None = None
    resolution: str | None = None
    resolved_at: datetime | None = None
