"""Districts and communities: the places staff answer for and seniors live in."""
from __future__ import annotations

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from dispatch.catalog import CommunityKind
from models.types import EnumText


class District(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=12)
    name_zh: str = Field(max_length=40)
    name_en: str = Field(max_length=60)
    kind: str = Field(max_length=20)
    seat_lat: float
    seat_lon: float
    population_approx: int = 0


class Community(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("district", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    district: str = Field(index=True, max_length=40)
    kind: CommunityKind = Field(sa_column=Column(EnumText(CommunityKind), nullable=False))
    lat: float = Field(index=True)
    lon: float = Field(index=True)
    synthetic: bool = False


class CommunityPublic(SQLModel):
    id: int
    name: str
    district: str
    kind: CommunityKind
    lat: float
    lon: float


class ServiceTypePublic(SQLModel):
    code: str
    name_zh: str
    name_en: str
