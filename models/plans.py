"""Recurring care plans, the notices sent about their visits, and 每日平安 daily check-ins.

A plan's visits are rows of service_request carrying (plan_id, occurrence_start) under a unique
index: materialising is an INSERT that skips keys already there, so it is idempotent and a second
clock by mistake adds nothing.
"""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field as PField
from sqlalchemy import JSON, Column, Date, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from dispatch.catalog import ServiceType
from dispatch.lifecycle import PlanStatus, RequestStatus
from models.accounts import STRICT
from models.types import ClientDate, ClientDateTime, EnumText, Id, UTCDateTime, utcnow


class PlanKind(StrEnum):
    SERVICE = "service"
    CARE_VISIT = "care_visit"  # 关爱探访: lateness alerts the provider, then the community's staff


class Plan(SQLModel, table=True):
    __table_args__ = (Index("ix_plan_status_senior", "status", "senior_id"),)
    id: int | None = Field(default=None, primary_key=True)
    senior_id: int = Field(foreign_key="senior.id", index=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    service_type: ServiceType = Field(sa_column=Column(EnumText(ServiceType), nullable=False))
    kind: PlanKind = Field(default=PlanKind.SERVICE, sa_column=Column(EnumText(PlanKind), nullable=False))
    status: PlanStatus = Field(default=PlanStatus.ACTIVE, sa_column=Column(EnumText(PlanStatus), nullable=False))
    rrule: str = Field(max_length=300)
    start_local: str = Field(max_length=19)  # "YYYY-MM-DDTHH:MM" wall-clock time in LINLI_TIMEZONE (DTSTART)
    duration_minutes: int = 60
    rule_from: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))  # the current rule applies from
    earlier_rules: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # edited segments
    until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    preferred_provider_id: int | None = Field(default=None, foreign_key="provider.id")
    notes: str | None = Field(default=None, max_length=500)
    materialised_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_by: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class VisitNotice(SQLModel, table=True):
    """A notice sent once about one visit (reminder_evening, reminder_hour, late_provider,
    late_staff): the unique key makes the reminder and lateness jobs idempotent."""

    __tablename__ = "visit_notice"
    __table_args__ = (UniqueConstraint("request_id", "kind", name="uq_visit_notice_once"),)
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="service_request.id")
    kind: str = Field(max_length=24)
    sent_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class CheckinSetting(SQLModel, table=True):
    """每日平安: a senior who opted in, and the local time by which they tap 我很好."""

    __tablename__ = "checkin_setting"
    senior_id: int = Field(foreign_key="senior.id", primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    enabled: bool = True
    deadline: str = Field(max_length=5)  # "HH:MM" local
    updated_by: int = Field(foreign_key="user.id")
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Checkin(SQLModel, table=True):
    """One day's 我很好 (the first of the day; later taps return it)."""

    __table_args__ = (UniqueConstraint("senior_id", "day", name="uq_checkin_day"),)
    id: int | None = Field(default=None, primary_key=True)
    senior_id: int = Field(foreign_key="senior.id")
    day: date = Field(sa_column=Column(Date(), nullable=False, index=True))  # local date
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    by_user: int = Field(foreign_key="user.id")


class CheckinAlert(SQLModel, table=True):
    """A missed check-in: family told at family_at, staff at staff_at if still unanswered an hour on."""

    __tablename__ = "checkin_alert"
    __table_args__ = (UniqueConstraint("senior_id", "day", name="uq_checkin_alert_day"),)
    id: int | None = Field(default=None, primary_key=True)
    senior_id: int = Field(foreign_key="senior.id")
    community_id: int = Field(foreign_key="community.id", index=True)
    day: date = Field(sa_column=Column(Date(), nullable=False, index=True))
    family_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    staff_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class PlanCreate(SQLModel):
    model_config = STRICT
    senior_id: Id
    service_type: ServiceType
    rrule: str = PField(min_length=6, max_length=300, examples=["FREQ=WEEKLY;BYDAY=MO,WE,FR"])
    start: ClientDateTime  # the first visit's local start; naive input is Asia/Shanghai
    duration_minutes: int = PField(60, ge=15, le=480)
    until: ClientDateTime | None = None
    preferred_provider_id: Id | None = None
    kind: PlanKind = PlanKind.SERVICE
    notes: str | None = PField(default=None, max_length=500)


class PlanUpdate(SQLModel):
    """Pause or resume (`paused`), or change the rule, time, length or preferred provider from a
    date on (`effective_from`, default today): visits before it keep the old rule."""

    model_config = STRICT
    paused: bool | None = None
    rrule: str | None = PField(default=None, min_length=6, max_length=300)
    start: ClientDateTime | None = None
    duration_minutes: int | None = PField(default=None, ge=15, le=480)
    until: ClientDateTime | None = None
    preferred_provider_id: Id | None = None
    effective_from: ClientDate | None = None
    notes: str | None = PField(default=None, max_length=500)


class PlanPublic(SQLModel):
    id: int
    senior_id: int
    community_id: int
    service_type: ServiceType
    kind: PlanKind
    status: PlanStatus
    rrule: str
    start: datetime
    duration_minutes: int
    until: datetime | None
    preferred_provider_id: int | None
    notes: str | None
    rule_from: datetime
    created_at: datetime
    senior_name: str | None = None  # in the staff's list of plans (GET /plans without senior_id)


class SkipCreate(SQLModel):
    model_config = STRICT
    date: ClientDate


class OccurrencePublic(SQLModel):
    start: datetime
    end: datetime
    request_id: int | None
    status: RequestStatus | str  # a request's status, or "planned" (not yet materialised) / "skipped"
    provider_id: int | None = None


class CheckinSettingUpdate(SQLModel):
    model_config = STRICT
    enabled: bool
    deadline: str = PField(pattern=_HHMM, examples=["10:00"])


class CheckinSettingPublic(SQLModel):
    senior_id: int
    enabled: bool
    deadline: str


class CheckinCreate(SQLModel):
    model_config = STRICT
    senior_id: Id


class CheckinPublic(SQLModel):
    id: int
    senior_id: int
    day: date
    at: datetime


class MissingCheckin(SQLModel):
    senior_id: int
    name: str
    community_id: int
    deadline: str
    family_alerted_at: datetime | None
    staff_alerted_at: datetime | None

