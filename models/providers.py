"""Service organizations and the providers (caregivers) who take the work."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field as PField, field_validator
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from dispatch.catalog import ProviderStatus, ServiceType
from models.accounts import STRICT
from models.types import EnumText, Id, Latitude, Longitude, Name, UTCDateTime, utcnow

OrganizationKind = Literal["company", "nonprofit", "community_center", "clinic", "cooperative"]


class Organization(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    kind: str = Field(max_length=20)
    license_no: str = Field(max_length=40, unique=True)
    address: str = Field(max_length=200)
    lat: float
    lon: float
    community_id: int = Field(foreign_key="community.id", index=True)
    admin_user_id: int = Field(foreign_key="user.id", index=True)
    status: ProviderStatus = Field(default=ProviderStatus.PENDING, sa_column=Column(EnumText(ProviderStatus), nullable=False))
    status_reason: str | None = Field(default=None, max_length=200)
    status_changed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Provider(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", unique=True)
    organization_id: int | None = Field(default=None, foreign_key="organization.id", index=True)
    name: str = Field(max_length=80)
    services: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    certifications: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    base_lat: float = Field(index=True)
    base_lon: float = Field(index=True)
    service_radius_km: float
    community_id: int = Field(foreign_key="community.id", index=True)
    status: ProviderStatus = Field(default=ProviderStatus.PENDING,
                                   sa_column=Column(EnumText(ProviderStatus), nullable=False, index=True))
    status_reason: str | None = Field(default=None, max_length=200)
    status_changed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    credit_score: int = 100
    rating_sum: int = 0
    rating_count: int = 0
    on_duty: bool = False
    duty_lat: float | None = None
    duty_lon: float | None = None
    duty_updated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # The provider counter's value at this row's last dispatch-relevant change (see bump_revision).
    revision: int = Field(default=0, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


MembershipStatus = Literal["pending", "accepted", "declined"]


class Membership(SQLModel, table=True):
    """A provider's request to join an organization, which its admin accepts or declines. Until
    accepted, Provider.organization_id stays empty: naming an organization joins nothing."""

    __tablename__ = "organization_membership"
    __table_args__ = (UniqueConstraint("organization_id", "provider_id", name="uq_membership_once"),)
    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    provider_id: int = Field(foreign_key="provider.id", index=True)
    status: str = Field(default="pending", max_length=10)
    requested_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    decided_by: int | None = Field(default=None, foreign_key="user.id")


class Counter(SQLModel, table=True):
    """Named monotonic counters; "provider" versions the dispatch index across processes."""

    name: str = Field(primary_key=True, max_length=40)
    value: int = 0


class OrganizationCreate(SQLModel):
    model_config = STRICT
    name: str = PField(min_length=2, max_length=120)
    kind: OrganizationKind
    license_no: str = PField(min_length=4, max_length=40, pattern=r"^[0-9A-Za-z\-]+$")
    address: str = PField(min_length=2, max_length=200)
    lat: Latitude
    lon: Longitude


class SanctionPublic(SQLModel):
    provider_id: int
    name: str
    status: ProviderStatus
    reason: str | None
    at: datetime | None


class OrganizationPublic(SQLModel):
    id: int
    name: str
    kind: str
    license_no: str
    address: str
    lat: float
    lon: float
    community_id: int
    status: ProviderStatus
    status_changed_at: datetime | None = None
    # Its providers under a sanction (suspended or blacklisted), newest first (GET /organizations/{id}).
    sanctions: list[SanctionPublic] = PField(default_factory=list)


class ProviderCreate(SQLModel):
    model_config = STRICT
    name: Name
    services: list[ServiceType] = PField(min_length=1, max_length=5)
    base_lat: Latitude
    base_lon: Longitude
    service_radius_km: float = PField(gt=0, le=50)
    organization_id: Id | None = None
    certifications: list[str] = PField(default_factory=list, max_length=20)

    @field_validator("services")
    @classmethod
    def _unique(cls, value: list[ServiceType]) -> list[ServiceType]:
        return sorted(set(value))

    @field_validator("certifications")
    @classmethod
    def _short(cls, value: list[str]) -> list[str]:
        if any(not 1 <= len(c) <= 60 for c in value):
            raise ValueError("each certification is 1–60 characters")
        return value


class ProviderPublic(SQLModel):
    id: int
    name: str
    services: list[ServiceType]
    certifications: list[str]
    base_lat: float
    base_lon: float
    service_radius_km: float
    organization_id: int | None
    community_id: int
    status: ProviderStatus
    status_reason: str | None
    status_changed_at: datetime | None = None
    credit_score: int
    rating_avg: float | None
    rating_count: int
    on_duty: bool
    duty_updated_at: datetime | None
    # The organization this provider asked to join, while its admin has not yet accepted.
    pending_organization_id: int | None = None


class StatusChange(SQLModel):
    model_config = STRICT
    reason: str = PField(min_length=2, max_length=200)


class DutyUpdate(SQLModel):
    model_config = STRICT
    on_duty: bool
    lat: Latitude | None = None
    lon: Longitude | None = None


class MemberQuery(SQLModel):
    status: MembershipStatus = "pending"


class MemberPublic(SQLModel):
    """A provider as an organization's admin sees a join request or a member."""

    provider_id: int
    name: str
    services: list[ServiceType]
    community_id: int
    provider_status: ProviderStatus
    status: MembershipStatus
    requested_at: datetime | None
    decided_at: datetime | None
