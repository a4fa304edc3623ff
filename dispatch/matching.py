"""Eligibility of providers for a request, and their ranking with human-readable reasons."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from dispatch.catalog import CareLevel, ProviderStatus, ServiceType
from dispatch.geo import great_circle_km
from dispatch.visits import is_free

DUTY_FRESH_FOR = timedelta(minutes=30)
_NO_HISTORY: Mapping[int, int] = MappingProxyType({})


@dataclass(frozen=True)
class ProviderSnapshot:
    id: int
    status: ProviderStatus
    services: frozenset[ServiceType]
    base_lat: float
    base_lon: float
    service_radius_km: float
    on_duty: bool = False
    duty_lat: float | None = None
    duty_lon: float | None = None
    duty_updated_at: datetime | None = None
    rating_avg: float | None = None
    rating_count: int = 0
    credit_score: int = 100
    certifications: frozenset[str] = frozenset()
    active_load: int = 0  # visits currently assigned, en route or in service
    busy: tuple[tuple[datetime, datetime], ...] = ()  # committed visits, half-open [start, end)


@dataclass(frozen=True)
class RequestSpec:
    id: int
    senior_id: int
    service_type: ServiceType
    lat: float
    lon: float
    start: datetime
    end: datetime
    asap: bool
    care_level: CareLevel | None
    required_certifications: frozenset[str] = frozenset()


class Ineligibility(StrEnum):
    """Why a provider may not be offered a request, in the order the rules are checked."""

    NOT_VERIFIED = "not_verified"
    SUSPENDED = "suspended"
    BLACKLISTED = "blacklisted"
    SERVICE_NOT_OFFERED = "service_not_offered"
    OFF_DUTY = "off_duty"
    BUSY = "busy"
    OUT_OF_RANGE = "out_of_range"


_STATUS_RULE = {
    ProviderStatus.PENDING: Ineligibility.NOT_VERIFIED,
    ProviderStatus.SUSPENDED: Ineligibility.SUSPENDED,
    ProviderStatus.BLACKLISTED: Ineligibility.BLACKLISTED,
}


@dataclass(frozen=True)
class Reason:
    code: str
    label_zh: str
    label_en: str
    points: float


@dataclass(frozen=True)
class ScoredCandidate:
    provider_id: int
    score: float
    distance_km: float
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Weights:
    """Points per factor. Distance dominates: a km costs 10 points, while continuity, rating and
    certificates together earn at most 30 (3 km); a poor record costs more than that."""

    base: float = 100.0
    per_km: float = 10.0
    per_past_visit: float = 4.0
    max_past_visits: int = 5  # continuity tops out at 20 points, i.e. 2 km
    rating_prior_mean: float = 4.5  # Bayesian average: ratings shrink toward this mean ...
    rating_prior_weight: float = 10.0  # ... as if every provider had 10 extra ratings of it
    per_star: float = 8.0  # points per star of smoothed rating above/below the prior mean
    per_credit_point_lost: float = 0.2  # credit 100 costs nothing, credit 50 costs 10 points
    per_active_job: float = 5.0
    certification_match: float = 6.0  # earned in full when every required certificate is held


DEFAULT_WEIGHTS = Weights()


def position_of(p: ProviderSnapshot, now: datetime,
                fresh_for: timedelta = DUTY_FRESH_FOR) -> tuple[float, float]:
    """Where the provider is taken to be: the on-duty position when on duty and fresh, else the base."""
    if (p.on_duty and p.duty_lat is not None and p.duty_lon is not None
            and p.duty_updated_at is not None and now - p.duty_updated_at <= fresh_for):
        return p.duty_lat, p.duty_lon
    return p.base_lat, p.base_lon


def _check(p: ProviderSnapshot, req: RequestSpec, now: datetime) -> tuple[Ineligibility | None, float]:
    # One pass gives both the verdict and the distance, so rank() measures each provider once.
    rule = _STATUS_RULE.get(ProviderStatus(p.status))
    if rule is not None:
        return rule, float("nan")
    if req.service_type not in p.services:
        return Ineligibility.SERVICE_NOT_OFFERED, float("nan")
    if req.asap and not p.on_duty:
        return Ineligibility.OFF_DUTY, float("nan")
    if not is_free(p.busy, req.start, req.end):
        return Ineligibility.BUSY, float("nan")
    lat, lon = position_of(p, now)
    km = great_circle_km(lat, lon, req.lat, req.lon)
    if km > p.service_radius_km:
        return Ineligibility.OUT_OF_RANGE, km
    return None, km


def ineligibilities(p: ProviderSnapshot, req: RequestSpec, now: datetime) -> tuple[tuple[Ineligibility, ...], float]:
    """Every eligibility rule the provider fails for req, in the order _check tests them (the first is
    ineligibility()'s answer; none: eligible), and the distance from where the provider is taken to be.
    Center staff see them all on a request's candidates; rank() stops at the first."""
    failed = []
    rule = _STATUS_RULE.get(ProviderStatus(p.status))
    if rule is not None:
        failed.append(rule)
    if req.service_type not in p.services:
        failed.append(Ineligibility.SERVICE_NOT_OFFERED)
    if req.asap and not p.on_duty:
        failed.append(Ineligibility.OFF_DUTY)
    if not is_free(p.busy, req.start, req.end):
        failed.append(Ineligibility.BUSY)
    lat, lon = position_of(p, now)
    km = great_circle_km(lat, lon, req.lat, req.lon)
    if km > p.service_radius_km:
        failed.append(Ineligibility.OUT_OF_RANGE)
    return tuple(failed), km


def ineligibility(p: ProviderSnapshot, req: RequestSpec, now: datetime) -> str | None:
    """The code of the first eligibility rule (API.md) the provider fails for req, or None."""
    return _check(p, req, now)[0]


def priority_of(req: RequestSpec) -> int:
    """Dispatch priority: care level severe 3 > moderate 2 > mild 1 > independent/none 0."""
    return CareLevel(req.care_level).rank if req.care_level is not None else 0


def _distance_reason(km: float, w: Weights) -> Reason:
    return Reason("distance", f"距离 {km:.1f} 公里", f"{km:.1f} km away", -w.per_km * km)


def _continuity_reason(visits: int, w: Weights) -> Reason | None:
    if visits <= 0:
        return None
    pts = w.per_past_visit * min(visits, w.max_past_visits)
    return Reason("continuity", f"曾服务该老人 {visits} 次", f"served this senior {visits} times", pts)


def _rating_reason(p: ProviderSnapshot, w: Weights) -> Reason:
    n = p.rating_count if p.rating_avg is not None else 0
    if n <= 0:
        return Reason("rating", "暂无评分", "no ratings yet", 0.0)
    smoothed = (w.rating_prior_mean * w.rating_prior_weight + p.rating_avg * n) / (w.rating_prior_weight + n)
    pts = w.per_star * (smoothed - w.rating_prior_mean)
    return Reason("rating", f"评分 {p.rating_avg:.1f}（{n} 条）", f"rated {p.rating_avg:.1f} ({n} ratings)", pts)


def _credit_reason(p: ProviderSnapshot, w: Weights) -> Reason:
    credit = max(0, min(100, p.credit_score))
    pts = -w.per_credit_point_lost * (100 - credit)
    return Reason("credit", f"信用分 {credit}", f"credit score {credit}", pts)


def _load_reason(p: ProviderSnapshot, w: Weights) -> Reason | None:
    if p.active_load <= 0:
        return None
    n = p.active_load
    return Reason("load", f"当前任务 {n} 个", f"{n} job{'s' if n != 1 else ''} in hand", -w.per_active_job * n)


def _certification_reason(p: ProviderSnapshot, req: RequestSpec, w: Weights) -> Reason | None:
    if not req.required_certifications:
        return None
    held = sorted(req.required_certifications & p.certifications)
    pts = w.certification_match * len(held) / len(req.required_certifications)
    if not held:
        return Reason("certification", "未持有所需证书", "holds none of the required certificates", 0.0)
    names = "、".join(held)
    return Reason("certification", f"持有证书 {names}", f"holds certificates: {', '.join(held)}", pts)


def score_candidate(p: ProviderSnapshot, req: RequestSpec, km: float, past_visits: int,
                    weights: Weights = DEFAULT_WEIGHTS) -> ScoredCandidate:
    """Score an eligible provider at km from the senior, with the reasons behind every point."""
    parts = (_distance_reason(km, weights), _continuity_reason(past_visits, weights),
             _rating_reason(p, weights), _credit_reason(p, weights), _load_reason(p, weights),
             _certification_reason(p, req, weights))
    reasons = tuple(r for r in parts if r is not None)
    return ScoredCandidate(p.id, weights.base + sum(r.points for r in reasons), km, reasons)


def rank(req: RequestSpec, providers: Iterable[ProviderSnapshot], *, now: datetime,
         history: Mapping[int, int] = _NO_HISTORY,
         weights: Weights = DEFAULT_WEIGHTS) -> list[ScoredCandidate]:
    """Eligible providers for req, best first; history maps provider id -> past completed visits
    to this senior. Ties go to the nearer provider, then the lower id."""
    scored = []
    for p in providers:
        rule, km = _check(p, req, now)
        if rule is None:
            scored.append(score_candidate(p, req, km, history.get(p.id, 0), weights))
    # Rounding keeps float noise in a sum of reasons from breaking a genuine tie.
    scored.sort(key=lambda c: (-round(c.score, 9), c.distance_km, c.provider_id))
    return scored
