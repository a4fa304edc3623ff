"""Seniors, the family linked to them (and the consent that made the link), assessments."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field as PField
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from dispatch.catalog import CareLevel
from models.accounts import STRICT
from models.types import EnumText, Id, Latitude, Longitude, Name, Phone, UTCDateTime, utcnow

Gender = Literal["male", "female", "other"]
Address = PField(min_length=2, max_length=200)
BirthYear = PField(ge=1900, le=2030)


class Senior(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(default=None, foreign_key="user.id", unique=True)
    name: str = Field(max_length=80)
    address: str = Field(max_length=200)
    lat: float = Field(index=True)
    lon: float = Field(index=True)
    birth_year: int
    gender: str | None = Field(default=None, max_length=8)
    phone: str | None = Field(default=None, max_length=11)
    community_id: int = Field(foreign_key="community.id", index=True)
    living_alone: bool = False
    emergency_contacts: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    care_level: CareLevel | None = Field(default=None, sa_column=Column(EnumText(CareLevel), nullable=True))
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class FamilyLink(SQLModel, table=True):
    """A family member's link to a senior, with who consented to it and how."""

    __tablename__ = "family_link"
    __table_args__ = (UniqueConstraint("senior_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    senior_id: int = Field(foreign_key="senior.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    relation: str = Field(max_length=20)
    can_book: bool = True
    # senior_self: the senior linked them; staff_witnessed: staff recorded the senior's consent;
    # family_created: family created the profile on the senior's behalf.
    consent_basis: str = Field(max_length=20)
    consented_by: int = Field(foreign_key="user.id")
    consented_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Assessment(SQLModel, table=True):
    """A Barthel index (ADL) needs assessment by center staff."""

    id: int | None = Field(default=None, primary_key=True)
    senior_id: int = Field(foreign_key="senior.id", index=True)
    assessor_id: int = Field(foreign_key="user.id")
    items: dict = Field(sa_column=Column(JSON, nullable=False))
    score: int
    care_level: CareLevel = Field(sa_column=Column(EnumText(CareLevel), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class EmergencyContact(SQLModel):
    model_config = STRICT
    name: Name
    phone: Phone
    relation: str | None = PField(default=None, max_length=20)


class SeniorCreate(SQLModel):
    model_config = STRICT
    name: Name
    address: str = Address
    lat: Latitude | None = None
    lon: Longitude | None = None
    birth_year: int = BirthYear
    gender: Gender | None = None
    phone: Phone | None = None
    community_id: Id | None = None
    living_alone: bool = False
    emergency_contacts: list[EmergencyContact] = PField(default_factory=list, max_length=5)


class SeniorUpdate(SQLModel):
    model_config = STRICT
    name: Name | None = None
    address: str | None = PField(default=None, min_length=2, max_length=200)
    lat: Latitude | None = None
    lon: Longitude | None = None
    birth_year: int | None = PField(default=None, ge=1900, le=2030)
    gender: Gender | None = None
    phone: Phone | None = None
    community_id: Id | None = None
    living_alone: bool | None = None
    emergency_contacts: list[EmergencyContact] | None = PField(default=None, max_length=5)


class SeniorSummary(SQLModel):
    """What lists show: no address, phone or position."""

    id: int
    name: str
    birth_year: int
    community_id: int
    living_alone: bool
    care_level: CareLevel | None


class SeniorPublic(SeniorSummary):
    address: str
    lat: float
    lon: float
    gender: str | None
    phone: str | None
    emergency_contacts: list[EmergencyContact]


class FamilyLinkCreate(SQLModel):
    model_config = STRICT
    phone: Phone
    relation: str = PField(min_length=1, max_length=20)
    can_book: bool = True


class FamilyLinkPublic(SQLModel):
    id: int
    senior_id: int
    user_id: int
    name: str
    relation: str
    can_book: bool
    consent_basis: str
    consented_at: datetime


class BarthelItems(SQLModel):
    model_config = STRICT
    feeding: int
    bathing: int
    grooming: int
    dressing: int
    bowels: int
    bladder: int
    toilet: int
    transfers: int
    mobility: int
    stairs: int


class AssessmentCreate(SQLModel):
    model_config = STRICT
    items: BarthelItems


class AssessmentPublic(SQLModel):
    id: int
    senior_id: int
    score: int
    care_level: CareLevel
    items: dict
    assessor_id: int
    created_at: datetime
