"""Service requests, the offers made for them, their history and their ratings."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Discriminator, RootModel
from pydantic import Field as PField
from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from dispatch.catalog import ServiceType
from dispatch.lifecycle import OfferStatus, RequestStatus
from models.accounts import STRICT
from models.types import ClientDateTime, EnumText, Id, Latitude, Longitude, UTCDateTime, utcnow


def _when(nullable: bool = True, index: bool = False):
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class ServiceRequest(SQLModel, table=True):
    __tablename__ = "service_request"
    # A provider's visits by status and time (who is free when): only rows with a provider, so the
    # many visits not yet assigned (14 days of plan visits) are not written into it.
    __table_args__ = (Index("ix_request_provider_window", "provider_id", "status", "scheduled_start",
                            sqlite_where=text("provider_id IS NOT NULL"),
                            postgresql_where=text("provider_id IS NOT NULL")),
                      # A plan's visit is materialised once: re-runs and a second clock insert nothing.
                      Index("uq_request_plan_occurrence", "plan_id", "occurrence_start", unique=True),
                      # The sweeper's "pending and due" range: with 14 days of plan visits pending, an
                      # index on status alone walks every one of them each tick.
                      Index("ix_request_status_start", "status", "scheduled_start"))
    id: int | None = Field(default=None, primary_key=True)
    senior_id: int = Field(foreign_key="senior.id", index=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    service_type: ServiceType = Field(sa_column=Column(EnumText(ServiceType), nullable=False))
    # No index of its own: ix_request_status_start begins with it.
    status: RequestStatus = Field(default=RequestStatus.PENDING,
                                  sa_column=Column(EnumText(RequestStatus), nullable=False))
    asap: bool = False
    scheduled_start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    scheduled_end: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    duration_minutes: int = 60
    notes: str | None = Field(default=None, max_length=500)
    priority: int = 0
    provider_id: int | None = Field(default=None, foreign_key="provider.id")
    wave: int = 0
    created_by: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    first_offer_at: datetime | None = _when()
    assigned_at: datetime | None = _when()
    escalated_at: datetime | None = _when()
    checkin_at: datetime | None = _when()
    checkin_lat: float | None = None
    checkin_lon: float | None = None
    checkin_distance_m: float | None = None
    checkin_flagged: bool = False
    checkout_at: datetime | None = _when()
    checkout_lat: float | None = None
    checkout_lon: float | None = None
    completed_at: datetime | None = _when()
    cancelled_at: datetime | None = _when()
    cancel_reason: str | None = Field(default=None, max_length=200)
    service_note: str | None = Field(default=None, max_length=1000)
    # Visits of a recurring plan (models/plans.py). Cancelling one by a pause or an edit clears
    # occurrence_start, so the plan may materialise that time again; a skip keeps it.
    plan_id: int | None = None  # plan.id (no foreign key: models/plans.py is not imported here)
    occurrence_start: datetime | None = _when()
    # How the request came in: app (a senior or family), hotline (staff booking for a caller), plan.
    channel: str = Field(default="app", max_length=10)


class Offer(SQLModel, table=True):
    # (request_id, status): "has this request a live offer" is one probe (the sweep asks it of every
    # offering request each tick; with an index on request_id alone PostgreSQL intersected it with
    # the whole status index for each request).
    __table_args__ = (UniqueConstraint("request_id", "provider_id"),
                      Index("ix_offer_request_status", "request_id", "status"))
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="service_request.id")
    provider_id: int = Field(foreign_key="provider.id", index=True)
    wave: int
    status: OfferStatus = Field(default=OfferStatus.OFFERED,
                                sa_column=Column(EnumText(OfferStatus), nullable=False, index=True))
    score: float
    distance_km: float
    reasons: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    responded_at: datetime | None = _when()


class RequestHistory(SQLModel, table=True):
    """Every status change of a request: who, when, from what to what (staff timelines, stats)."""

    __tablename__ = "request_history"
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="service_request.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    from_status: str | None = Field(default=None, max_length=24)
    to_status: str = Field(max_length=24)
    note: str | None = Field(default=None, max_length=500)


class Rating(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="service_request.id", unique=True)
    provider_id: int = Field(foreign_key="provider.id", index=True)
    stars: int
    comment: str | None = Field(default=None, max_length=500)
    created_by: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class RequestCreate(SQLModel):
    model_config = STRICT
    senior_id: Id
    service_type: ServiceType
    scheduled_start: ClientDateTime | None = None
    duration_minutes: int = PField(60, ge=15, le=480)
    notes: str | None = PField(default=None, max_length=500)
    # "hotline": center staff booking for a senior who phoned in (staff only; others 403).
    channel: Literal["app", "hotline"] = "app"


class RequestPublic(SQLModel):
    id: int
    status: RequestStatus
    senior_id: int
    community_id: int
    service_type: ServiceType
    asap: bool
    scheduled_start: datetime
    scheduled_end: datetime
    duration_minutes: int
    notes: str | None
    priority: int
    provider_id: int | None
    created_at: datetime
    assigned_at: datetime | None
    checkin_at: datetime | None
    checkin_flagged: bool
    checkout_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    plan_id: int | None = None
    # Present only for the assigned provider during the visit, and for the senior's side.
    address: str | None = None
    senior_name: str | None = None
    senior_phone: str | None = None
    lat: float | None = None
    lon: float | None = None
    # For anyone who may see the request: who is coming (the assigned provider's name, so an app can
    # say "王师傅已接单") and, once given, the rating's stars.
    provider_name: str | None = None
    rating_stars: int | None = None
    channel: str = "app"  # how it was booked: app, or hotline (staff for a senior who phoned in)


class OfferPublic(SQLModel):
    id: int
    request_id: int
    service_type: ServiceType
    status: OfferStatus
    distance_km: float
    expires_at: datetime
    scheduled_start: datetime
    duration_minutes: int
    area: dict  # {lat, lon} on a ~1 km grid and the community's name: never the address
    reasons: list


class CancelRequest(SQLModel):
    model_config = STRICT
    reason: str | None = PField(default=None, max_length=200)


class _Progress(SQLModel):
    model_config = STRICT
    note: str | None = PField(default=None, max_length=1000)


class ProgressEnRoute(_Progress):
    """On the way: no position needed."""
    status: Literal[RequestStatus.EN_ROUTE]
    lat: Latitude | None = None
    lon: Longitude | None = None


class ProgressCheckIn(_Progress):
    """Check-in (in_service): where the provider is, compared with the senior's home."""
    status: Literal[RequestStatus.IN_SERVICE]
    lat: Latitude
    lon: Longitude


class ProgressCheckOut(_Progress):
    """Check-out (completed): where the provider is."""
    status: Literal[RequestStatus.COMPLETED]
    lat: Latitude
    lon: Longitude


ProgressStep = Annotated[ProgressEnRoute | ProgressCheckIn | ProgressCheckOut, Discriminator(
    "status", custom_error_type="invalid_status", custom_error_context={"field": "status"},
    custom_error_message="须为 en_route、in_service 或 completed / must be en_route, in_service or completed")]


class ProgressCreate(RootModel[ProgressStep]):
    """One step of a visit, told apart by status: check-in and check-out carry lat and lon."""


class RatingCreate(SQLModel):
    model_config = STRICT
    stars: int = PField(ge=1, le=5)
    comment: str | None = PField(default=None, max_length=500)


class AssignCreate(SQLModel):
    model_config = STRICT
    provider_id: Id
