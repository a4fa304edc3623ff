"""The console's reports: the month's subsidy statement and the service statistics (no tables)."""
from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dispatch.catalog import ServiceType
from models.types import ClientDate, QueryId

MAX_PERIOD_DAYS = 366
_CSV = {"text/csv": {"schema": {"type": "string"}}}
_XLSX = {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
         {"schema": {"type": "string", "format": "binary"}}}
Month = Field(pattern=r"^2[01]\d\d-(0[1-9]|1[0-2])$", description="YYYY-MM (local month, Asia/Shanghai)")


class SubsidyQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: str = Month
    community_id: QueryId | None = None
    format: Literal["json", "csv", "xlsx"] = "json"


class StatsQuery(BaseModel):
    """A period of local dates, both included: the last 30 days up to today when left out."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: ClientDate | None = Field(None, alias="from")
    to: ClientDate | None = None
    community_id: QueryId | None = None
    service_type: ServiceType | None = None
    format: Literal["json", "csv"] = "json"

    @model_validator(mode="after")
    def _period(self) -> StatsQuery:
        if self.from_ is not None and self.to is not None:
            if self.from_ > self.to:
                raise ValueError("开始日期须不晚于结束日期 / from must not be after to")
            if (self.to - self.from_).days + 1 > MAX_PERIOD_DAYS:
                raise ValueError(f"时段最长 {MAX_PERIOD_DAYS} 天 / the period is at most {MAX_PERIOD_DAYS} days")
        return self


class SubsidyRates(BaseModel):
    illustrative: bool
    currency: str
    base: dict[str, float]
    care_level_factor: dict[str, float]


class SubsidyRow(BaseModel):
    organization_id: int | None
    organization: str | None
    provider_id: int
    provider: str | None
    service_type: ServiceType
    care_level: str
    visits: int
    amount: float


class SubsidyFlag(BaseModel):
    request_id: int
    provider_id: int | None
    provider: str | None
    service_type: ServiceType
    reason: str


class SubsidyTotals(BaseModel):
    visits: int
    amount: float


class SubsidyStatement(BaseModel):
    # format=csv and format=xlsx answer the same statement as a file (documented beside the JSON).
    model_config = ConfigDict(openapi_extra={"content": {**_CSV, **_XLSX}})
    month: str
    community_id: int | None = None
    rates: SubsidyRates
    rows: list[SubsidyRow]
    totals: SubsidyTotals
    flagged: list[SubsidyFlag]


class Spread(BaseModel):
    p50: float | None
    p90: float | None
    p95: float | None


class AckSpread(BaseModel):
    p50: float | None
    p90: float | None


class SosFigures(BaseModel):
    count: int
    first_ack_seconds: AckSpread


class Figures(BaseModel):
    requests: int
    completed: int
    cancelled: int
    escalated: int
    fulfilment_rate: float | None
    accept_minutes: Spread
    arrival_minutes: Spread
    sos: SosFigures | None  # None per service type: an SOS has none


class CommunityFigures(Figures):
    community_id: int
    name: str
    kind: str


class ServiceTypeFigures(Figures):
    service_type: ServiceType


class RuralFigures(BaseModel):
    communities: int
    communities_covered: int
    seniors: int
    seniors_covered: int


class Stats(BaseModel):
    model_config = ConfigDict(populate_by_name=True, openapi_extra={"content": _CSV})
    from_: date = Field(alias="from")
    to: date
    overall: Figures
    by_community: list[CommunityFigures]
    by_service_type: list[ServiceTypeFigures]
    rural: RuralFigures
