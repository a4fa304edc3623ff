"""What the console's coverage, map and station-siting endpoints return (docs/console.md)."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import SQLModel

from dispatch.catalog import CareLevel, CommunityKind, ProviderStatus, ServiceType


class Share(SQLModel):
    seniors: int
    covered: int
    ratio: float | None  # null when there are no seniors


class CommunityCoverage(Share):
    community_id: int
    name: str
    kind: CommunityKind
    by_care_level: dict[str, Share]  # severe, moderate, mild, independent, unassessed


class UncoveredSenior(SQLModel):
    senior_id: int
    name: str
    community_id: int
    care_level: CareLevel | None
    lat: float  # rounded to 3 decimals (~100 m)
    lon: float


class CoveragePublic(SQLModel):
    service_type: ServiceType
    computed_at: datetime
    total: Share
    communities: list[CommunityCoverage]
    uncovered: list[UncoveredSenior]


class MapSenior(SQLModel):
    id: int
    lat: float
    lon: float
    care_level: CareLevel | None
    covered: bool


class MapProvider(SQLModel):
    id: int
    name: str
    lat: float
    lon: float
    radius_km: float
    status: ProviderStatus
    on_duty: bool


class MapCommunity(SQLModel):
    id: int
    name: str
    kind: CommunityKind
    lat: float
    lon: float


class MapPublic(SQLModel):
    seniors: list[MapSenior]
    providers: list[MapProvider]
    communities: list[MapCommunity]
    truncated: bool  # more seniors than MAP_SENIORS_MAX: a spread sample of them is shown


class After(SQLModel):
    covered_weight: float


class Before(After):
    uncovered_weight: float


class SitePublic(SQLModel):
    lat: float
    lon: float
    community_id: int | None
    seniors: int
    weight: float


class SitingPublic(SQLModel):
    service_type: ServiceType
    k: int
    radius_km: float
    guarantee: str
    before: Before
    sites: list[SitePublic]
    after: After
