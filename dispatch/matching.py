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


class ScoredCandidate:
    """An eligible provider's score and distance, and the reasons behind every point.

    rank() scores every eligible provider on a short list while only a wave's few are offered and
    shown: the reasons' labels are written when first read (an eighth of the sweep's CPU before)."""

    __slots__ = ("provider_id", "score", "distance_km", "_reasons", "_parts")

    def __init__(self, provider_id: int, score: float, distance_km: float, reasons: tuple[Reason, ...] | None = None,
                 *, parts: tuple[tuple, ...] = ()):
        self.provider_id, self.score, self.distance_km = provider_id, score, distance_km
        self._reasons, self._parts = reasons, parts

    @property
    def reasons(self) -> tuple[Reason, ...]:
        if self._reasons is None:
            self._reasons = tuple(_reason(*part) for part in self._parts)
        return self._reasons

    def __eq__(self, other) -> bool:
        if not isinstance(other, ScoredCandidate):
            return NotImplemented
        return (self.provider_id, self.score, self.distance_km, self.reasons) == \
            (other.provider_id, other.score, other.distance_km, other.reasons)

    __hash__ = None  # mutable cache, compared by value

    def __repr__(self) -> str:
        return (f"ScoredCandidate(provider_id={self.provider_id!r}, score={self.score!r}, "
                f"distance_km={self.distance_km!r}, reasons={self.reasons!r})")


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
    if p.status != ProviderStatus.VERIFIED:  # (a StrEnum: its text compares equal too)
        return _STATUS_RULE.get(p.status, Ineligibility.NOT_VERIFIED), float("nan")
    if req.service_type not in p.services:
        return Ineligibility.SERVICE_NOT_OFFERED, float("nan")
    if req.asap and not p.on_duty:
        return Ineligibility.OFF_DUTY, float("nan")
    if p.busy and not is_free(p.busy, req.start, req.end):
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


# Each factor of a score is a part (code, points, what its label says) or None; the labels are written
# by _reason only when the reasons are read. One source for the points and the reasons alike.

def _distance_part(km: float, w: Weights) -> tuple:
    return "distance", -w.per_km * km, km


def _continuity_part(visits: int, w: Weights) -> tuple | None:
    if visits <= 0:
        return None
    return "continuity", w.per_past_visit * min(visits, w.max_past_visits), visits


def _rating_part(p: ProviderSnapshot, w: Weights) -> tuple:
    n = p.rating_count if p.rating_avg is not None else 0
    if n <= 0:
        return "rating", 0.0, None
    smoothed = (w.rating_prior_mean * w.rating_prior_weight + p.rating_avg * n) / (w.rating_prior_weight + n)
    return "rating", w.per_star * (smoothed - w.rating_prior_mean), (p.rating_avg, n)


def _credit_part(p: ProviderSnapshot, w: Weights) -> tuple:
    credit = max(0, min(100, p.credit_score))
    return "credit", -w.per_credit_point_lost * (100 - credit), credit


def _load_part(p: ProviderSnapshot, w: Weights) -> tuple | None:
    if p.active_load <= 0:
        return None
    return "load", -w.per_active_job * p.active_load, p.active_load


def _certification_part(p: ProviderSnapshot, req: RequestSpec, w: Weights) -> tuple | None:
    if not req.required_certifications:
        return None
    held = sorted(req.required_certifications & p.certifications)
    return "certification", w.certification_match * len(held) / len(req.required_certifications), held


def _certification_labels(held: list[str]) -> tuple[str, str]:
    if not held:
        return "未持有所需证书", "holds none of the required certificates"
    return f"持有证书 {'、'.join(held)}", f"holds certificates: {', '.join(held)}"


def _rating_labels(said: tuple[float, int] | None) -> tuple[str, str]:
    if said is None:
        return "暂无评分", "no ratings yet"
    avg, n = said
    return f"评分 {avg:.1f}（{n} 条）", f"rated {avg:.1f} ({n} ratings)"


# A part's (zh, en) labels from what it says, by its code.
_LABELS = {
    "distance": lambda km: (f"距离 {km:.1f} 公里", f"{km:.1f} km away"),
    "continuity": lambda n: (f"曾服务该老人 {n} 次", f"served this senior {n} times"),
    "rating": _rating_labels,
    "credit": lambda credit: (f"信用分 {credit}", f"credit score {credit}"),
    "load": lambda n: (f"当前任务 {n} 个", f"{n} job{'s' if n != 1 else ''} in hand"),
    "certification": _certification_labels,
}


def _reason(code: str, points: float, said) -> Reason:
    return Reason(code, *_LABELS[code](said), points)


def score_candidate(p: ProviderSnapshot, req: RequestSpec, km: float, past_visits: int,
                    weights: Weights = DEFAULT_WEIGHTS) -> ScoredCandidate:
    """Score an eligible provider at km from the senior, with the reasons behind every point."""
    parts = tuple(part for part in (
        _distance_part(km, weights), _continuity_part(past_visits, weights), _rating_part(p, weights),
        _credit_part(p, weights), _load_part(p, weights), _certification_part(p, req, weights)) if part is not None)
    return ScoredCandidate(p.id, weights.base + sum(part[1] for part in parts), km, parts=parts)


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
