"""Offer waves: who gets the next wave of offers, until when, and when to escalate instead."""
from __future__ import annotations

from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from datetime import datetime, timedelta

from dispatch.lifecycle import OPEN_OFFER_STATUSES, OfferStatus
from dispatch.matching import ScoredCandidate

WAVES_EXHAUSTED = "waves_exhausted"
NO_CANDIDATES = "no_candidates"


@dataclass(frozen=True)
class WavePolicy:
    """How waves grow and how long an offer stays open.

    Priority p (0 none/independent … 3 severe, 4 SOS; see matching.priority_of) acts twice:
    - it widens every wave: wave 1 has first_wave_size + p * extra_per_priority providers and
      wave k has that times wave_growth ** (k - 1), so a severe case reaches more people at once;
    - it shortens the TTL: ttl * (1 - p * ttl_cut_per_priority), never below min_offer_ttl, so an
      unanswered urgent request moves on to the next wave (and escalation) sooner.
    With the defaults an SOS ASAP offer lasts 36 s to 7 providers, an independent senior's 90 s to 3.
    """

    first_wave_size: int = 3
    wave_growth: int = 2
    max_waves: int = 3
    offer_ttl: timedelta = timedelta(seconds=90)
    scheduled_offer_ttl: timedelta = timedelta(minutes=10)
    extra_per_priority: int = 1
    ttl_cut_per_priority: float = 0.15
    min_offer_ttl: timedelta = timedelta(seconds=30)

    def wave_size(self, wave_number: int, priority: int) -> int:
        """How many new providers wave wave_number (1-based) offers to at this priority."""
        first = self.first_wave_size + max(0, priority) * self.extra_per_priority
        return max(1, first) * self.wave_growth ** (wave_number - 1)

    def ttl(self, priority: int, asap: bool) -> timedelta:
        """How long an offer stays open at this priority."""
        base = self.offer_ttl if asap else self.scheduled_offer_ttl
        factor = max(0.0, 1.0 - max(0, priority) * self.ttl_cut_per_priority)
        return max(self.min_offer_ttl, base * factor)


@dataclass(frozen=True)
class WaveDecision:
    provider_ids: tuple[int, ...]
    expires_at: datetime | None
    escalate: bool
    reason: str


def _escalation(reason: str) -> WaveDecision:
    return WaveDecision((), None, True, reason)


def _unoffered(ranked: Sequence[ScoredCandidate], already_offered: Set[int]) -> list[ScoredCandidate]:
    seen = set(already_offered)
    out = []
    for c in ranked:
        if c.provider_id not in seen:
            seen.add(c.provider_id)
            out.append(c)
    return out


def plan_wave(ranked: Sequence[ScoredCandidate], *, already_offered: Set[int], wave_number: int,
              priority: int, now: datetime, asap: bool,
              policy: WavePolicy = WavePolicy()) -> WaveDecision:
    """Choose the providers of wave wave_number (1-based) from the ranking, or decide to escalate
    to the community center when the waves are used up or nobody new is left."""
    if wave_number < 1:
        raise ValueError("wave_number is 1-based")
    if wave_number > policy.max_waves:
        return _escalation(WAVES_EXHAUSTED)
    fresh = _unoffered(ranked, already_offered)
    if not fresh:
        return _escalation(NO_CANDIDATES)
    size = policy.wave_size(wave_number, priority)
    chosen = fresh[:size]
    if wave_number == 1:
        # API.md promises the nearest eligible provider a first-wave offer whatever the other
        # factors say; it takes the last seat, so the best-scored ones keep theirs.
        nearest = min(fresh, key=lambda c: (c.distance_km, c.provider_id))
        if nearest not in chosen:
            chosen = chosen[:size - 1] + [nearest]
    return WaveDecision(tuple(c.provider_id for c in chosen), now + policy.ttl(priority, asap),
                        False, f"wave_{wave_number}")


def is_expired(expires_at: datetime | None, now: datetime) -> bool:
    """Whether an offer (or wave) deadline has passed; None never expires."""
    return expires_at is not None and now >= expires_at


def wave_finished(offer_statuses: Iterable[OfferStatus]) -> bool:
    """Whether no offer of a wave is still waiting, so the sweeper may open the next one early."""
    return not any(OfferStatus(s) in OPEN_OFFER_STATUSES for s in offer_statuses)
