"""Statuses and their transition tables: requests, providers (and organizations), SOS alerts, plans, complaints."""
from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from dispatch.catalog import ProviderStatus


class RequestStatus(StrEnum):
    PENDING = "pending"
    OFFERING = "offering"
    ASSIGNED = "assigned"
    EN_ROUTE = "en_route"
    IN_SERVICE = "in_service"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    ESCALATED = "escalated"


class OfferStatus(StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


_S = RequestStatus

# A next wave of offers keeps the request in OFFERING: the service simply leaves the status alone,
# so OFFERING -> OFFERING is deliberately not listed and check_transition refuses it.
# "-> OFFERING" from assigned/en_route is the re-dispatch when a provider drops out or is blacklisted.
TRANSITIONS: Mapping[RequestStatus, frozenset[RequestStatus]] = MappingProxyType({
    _S.PENDING: frozenset({_S.OFFERING, _S.ESCALATED, _S.ASSIGNED, _S.CANCELLED}),
    _S.OFFERING: frozenset({_S.ASSIGNED, _S.ESCALATED, _S.CANCELLED}),
    _S.ESCALATED: frozenset({_S.ASSIGNED, _S.OFFERING, _S.CANCELLED}),
    _S.ASSIGNED: frozenset({_S.EN_ROUTE, _S.IN_SERVICE, _S.OFFERING, _S.CANCELLED}),
    _S.EN_ROUTE: frozenset({_S.IN_SERVICE, _S.OFFERING, _S.CANCELLED}),
    _S.IN_SERVICE: frozenset({_S.COMPLETED}),
    _S.COMPLETED: frozenset(),
    _S.CANCELLED: frozenset(),
})

TERMINAL_STATUSES: frozenset[RequestStatus] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
OPEN_STATUSES: frozenset[RequestStatus] = frozenset(RequestStatus) - TERMINAL_STATUSES
# Statuses in which the request occupies the assigned provider's time (busy intervals, load).
VISIT_STATUSES: frozenset[RequestStatus] = frozenset({_S.ASSIGNED, _S.EN_ROUTE, _S.IN_SERVICE})
# What POST /requests/{id}/progress accepts from the assigned provider.
PROVIDER_PROGRESS: frozenset[RequestStatus] = frozenset({_S.EN_ROUTE, _S.IN_SERVICE, _S.COMPLETED})
CANCELLABLE: frozenset[RequestStatus] = frozenset(s for s, nxt in TRANSITIONS.items() if _S.CANCELLED in nxt)
# Offers that still wait for an answer; every other offer status is final.
OPEN_OFFER_STATUSES: frozenset[OfferStatus] = frozenset({OfferStatus.OFFERED})


class InvalidTransition(Exception):
    """Something cannot go from its current status to the target one (by its table)."""

    def __init__(self, current: StrEnum, target: StrEnum):
        super().__init__(f"cannot go from {current} to {target}")
        self.current = current
        self.target = target


def can_transition(current: RequestStatus, target: RequestStatus) -> bool:
    """Whether the request table allows current -> target."""
    return RequestStatus(target) in TRANSITIONS[RequestStatus(current)]


def check_transition(current: RequestStatus, target: RequestStatus) -> None:
    """Raise InvalidTransition unless the request table allows current -> target."""
    if not can_transition(current, target):
        raise InvalidTransition(RequestStatus(current), RequestStatus(target))


_P = ProviderStatus
# Providers and organizations share one table. Lifting a blacklisting (-> VERIFIED) is in the table;
# that only an admin may do it is an access rule, checked by the use case.
PROVIDER_TRANSITIONS: Mapping[ProviderStatus, frozenset[ProviderStatus]] = MappingProxyType({
    _P.PENDING: frozenset({_P.VERIFIED, _P.SUSPENDED, _P.BLACKLISTED}),
    _P.VERIFIED: frozenset({_P.SUSPENDED, _P.BLACKLISTED}),
    _P.SUSPENDED: frozenset({_P.VERIFIED, _P.BLACKLISTED}),
    _P.BLACKLISTED: frozenset({_P.VERIFIED}),
})


class SosStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


# Further acknowledgements of an acknowledged alert add to who has seen it; the status stays.
SOS_TRANSITIONS: Mapping[SosStatus, frozenset[SosStatus]] = MappingProxyType({
    SosStatus.OPEN: frozenset({SosStatus.ACKNOWLEDGED, SosStatus.RESOLVED}),
    SosStatus.ACKNOWLEDGED: frozenset({SosStatus.RESOLVED}),
    SosStatus.RESOLVED: frozenset(),
})


class PlanStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


# A recurring plan pauses and resumes; deleting it ends it (future visits cancelled, past ones kept).
PLAN_TRANSITIONS: Mapping[PlanStatus, frozenset[PlanStatus]] = MappingProxyType({
    PlanStatus.ACTIVE: frozenset({PlanStatus.PAUSED, PlanStatus.ENDED}),
    PlanStatus.PAUSED: frozenset({PlanStatus.ACTIVE, PlanStatus.ENDED}),
    PlanStatus.ENDED: frozenset(),
})


class ComplaintStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


# Staff resolve a complaint once (upheld or dismissed); a resolved one is final.
COMPLAINT_TRANSITIONS: Mapping[ComplaintStatus, frozenset[ComplaintStatus]] = MappingProxyType({
    ComplaintStatus.OPEN: frozenset({ComplaintStatus.RESOLVED}),
    ComplaintStatus.RESOLVED: frozenset(),
})


def check_by(table: Mapping, current: str, target: str) -> None:
    """Raise InvalidTransition unless `table` (one of the tables above) allows current -> target; the
    values are read as the table's own status enum."""
    kind = type(next(iter(table)))
    if kind(target) not in table[kind(current)]:
        raise InvalidTransition(kind(current), kind(target))


def check_progress(current: RequestStatus, target: RequestStatus) -> None:
    """Raise InvalidTransition unless a provider may move the request from current to target."""
    # Providers only move a visit forward; re-dispatch and cancellation go through other services.
    if RequestStatus(target) not in PROVIDER_PROGRESS:
        raise InvalidTransition(RequestStatus(current), RequestStatus(target))
    check_transition(current, target)
