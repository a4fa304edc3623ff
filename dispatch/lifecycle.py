"""Request and offer statuses and the one table of legal request transitions."""
from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


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
    """A request cannot go from its current status to the target one."""

    def __init__(self, current: RequestStatus, target: RequestStatus):
        super().__init__(f"cannot go from {current} to {target}")
        self.current = RequestStatus(current)
        self.target = RequestStatus(target)


def can_transition(current: RequestStatus, target: RequestStatus) -> bool:
    """Whether the table allows current -> target."""
    return RequestStatus(target) in TRANSITIONS[RequestStatus(current)]


def check_transition(current: RequestStatus, target: RequestStatus) -> None:
    """Raise InvalidTransition unless the table allows current -> target."""
    if not can_transition(current, target):
        raise InvalidTransition(current, target)


def check_progress(current: RequestStatus, target: RequestStatus) -> None:
    """Raise InvalidTransition unless a provider may move the request from current to target."""
    # Providers only move a visit forward; re-dispatch and cancellation go through other services.
    if RequestStatus(target) not in PROVIDER_PROGRESS:
        raise InvalidTransition(current, target)
    check_transition(current, target)
