"""Escalated requests offered again: which are still wanted at `now`, and what a provider who has
just become available (on duty, moved, verified) is offered.

An escalated request stays `escalated` for the center's staff while it is offered again; the
first provider to accept a live offer takes it (ESCALATED -> ASSIGNED is in the request table).
"""
from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass
from datetime import datetime, timedelta

from dispatch.lifecycle import RequestStatus
from dispatch.matching import ProviderSnapshot, RequestSpec, ScoredCandidate, rank


@dataclass(frozen=True)
class ReofferPolicy:
    """How long an escalated request is worth offering again.

    - As soon as possible: for 2 h after it was made. Past that, whoever asked has likely found
      help another way, and the center's staff (who see it escalated all along) decide.
    - Scheduled: until 30 min before its start, so a provider who accepts still has time to get there.
    A provider who becomes available is offered at most `per_arrival` of them at once, nearest first.
    """

    asap_for: timedelta = timedelta(hours=2)
    scheduled_lead: timedelta = timedelta(minutes=30)
    per_arrival: int = 3

    def deadline(self, *, asap: bool, created_at: datetime, scheduled_start: datetime) -> datetime:
        """When a request stops being offered again."""
        return created_at + self.asap_for if asap else scheduled_start - self.scheduled_lead

    def still_wanted(self, *, status: RequestStatus, asap: bool, created_at: datetime,
                     scheduled_start: datetime, now: datetime) -> bool:
        """Whether an escalated request should still be offered again at now."""
        return (RequestStatus(status) == RequestStatus.ESCALATED
                and now < self.deadline(asap=asap, created_at=created_at, scheduled_start=scheduled_start))

    def cutoffs(self, now: datetime) -> tuple[datetime, datetime]:
        """The same rule for a query: ASAP requests made after the first time, scheduled ones
        starting after the second."""
        return now - self.asap_for, now + self.scheduled_lead


@dataclass(frozen=True)
class ArrivalOffer:
    request_id: int
    candidate: ScoredCandidate


def choose_for_arrival(provider: ProviderSnapshot, requests: Iterable[RequestSpec], *, refused: Set[int],
                       now: datetime, policy: ReofferPolicy = ReofferPolicy()) -> list[ArrivalOffer]:
    """The wanted escalated requests a provider who just became available may take, nearest first,
    at most policy.per_arrival: eligible by the same rules as any offer (matching.rank), and not
    among `refused` (requests whose offer they declined, let expire or dropped out of)."""
    chosen = []
    for spec in requests:
        if spec.id in refused:
            continue
        ranked = rank(spec, [provider], now=now)
        if ranked:
            chosen.append(ArrivalOffer(spec.id, ranked[0]))
    chosen.sort(key=lambda a: (a.candidate.distance_km, a.request_id))
    return chosen[:policy.per_arrival]
