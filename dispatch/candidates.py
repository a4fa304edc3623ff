"""A request's candidates as center staff see them before assigning by hand: the eligible providers
ranked exactly as dispatch ranks them (matching.rank), then the near ones that are not eligible,
each with every rule they fail."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from dispatch.matching import (DEFAULT_WEIGHTS, Ineligibility, ProviderSnapshot, Reason, RequestSpec, Weights,
                               ineligibilities, rank)

MAX_CANDIDATES = 20
NEAR_KM = 10.0  # providers not eligible are listed when this near the senior
_NO_HISTORY: Mapping[int, int] = MappingProxyType({})

_LABELS = {
    Ineligibility.NOT_VERIFIED: ("未通过审核", "not verified"),
    Ineligibility.SUSPENDED: ("已停用", "suspended"),
    Ineligibility.BLACKLISTED: ("已列入黑名单", "blacklisted"),
    Ineligibility.SERVICE_NOT_OFFERED: ("不提供此项服务", "does not offer this service"),
    Ineligibility.OFF_DUTY: ("未在岗", "not on duty"),
    Ineligibility.BUSY: ("该时段已有服务", "busy at that time"),
}


@dataclass(frozen=True)
class Blocked:
    """One rule a provider fails, in words."""

    code: str
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class Candidate:
    provider_id: int
    distance_km: float
    score: float | None  # None when not eligible
    eligible: bool
    reasons: tuple[Reason, ...]  # why the score (eligible ones)
    blocked: tuple[Blocked, ...]  # why not eligible (the others)


def blocked_reasons(p: ProviderSnapshot, req: RequestSpec, now: datetime) -> tuple[tuple[Blocked, ...], float]:
    """Every rule p fails for req, in words (empty: eligible), and p's distance from the senior in km."""
    failed, km = ineligibilities(p, req, now)
    return tuple(_blocked(rule, p) for rule in failed), km


def _blocked(rule: Ineligibility, p: ProviderSnapshot) -> Blocked:
    if rule == Ineligibility.OUT_OF_RANGE:
        r = p.service_radius_km
        return Blocked(rule, f"超出服务半径 {r:.1f} 公里", f"outside their {r:.1f} km service radius")
    zh, en = _LABELS[rule]
    return Blocked(rule, zh, en)


def candidate_list(req: RequestSpec, providers: Iterable[ProviderSnapshot], *, now: datetime,
                   history: Mapping[int, int] = _NO_HISTORY, weights: Weights = DEFAULT_WEIGHTS,
                   limit: int = MAX_CANDIDATES, near_km: float = NEAR_KM) -> list[Candidate]:
    """At most `limit` candidates: the eligible ones best first as rank() orders them, then those not
    eligible within near_km, nearest first (then by id), with every rule each fails."""
    providers = list(providers)
    ranked = rank(req, providers, now=now, history=history, weights=weights)
    chosen = [Candidate(c.provider_id, c.distance_km, c.score, True, c.reasons, ()) for c in ranked[:limit]]
    eligible = {c.provider_id for c in ranked}
    others = []
    for p in providers:
        if p.id in eligible:
            continue
        why, km = blocked_reasons(p, req, now)
        if why and km <= near_km:
            others.append(Candidate(p.id, km, None, False, (), why))
    others.sort(key=lambda c: (c.distance_km, c.provider_id))
    return chosen + others[:max(0, limit - len(chosen))]
