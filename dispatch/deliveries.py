"""Deliveries of notifications: their channels, their status table and when to try again."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from dispatch.lifecycle import InvalidTransition


class Channel(StrEnum):
    PUSH = "push"
    SMS = "sms"


class DeliveryStatus(StrEnum):
    QUEUED = "queued"  # waiting for its first or next attempt
    SENT = "sent"  # the push service or SMS gateway took it
    FAILED = "failed"  # given up: refused for good, or out of attempts
    GONE = "gone"  # the subscription (or phone) is no more


_D = DeliveryStatus
# QUEUED -> QUEUED is a retry: the attempt failed for now and the delivery waits for its next turn.
DELIVERY_TRANSITIONS: Mapping[DeliveryStatus, frozenset[DeliveryStatus]] = MappingProxyType({
    _D.QUEUED: frozenset({_D.QUEUED, _D.SENT, _D.FAILED, _D.GONE}),
    _D.SENT: frozenset(),
    _D.FAILED: frozenset(),
    _D.GONE: frozenset(),
})


def check_delivery_transition(current: DeliveryStatus, target: DeliveryStatus) -> None:
    """Raise InvalidTransition unless a delivery may go from current to target."""
    if DeliveryStatus(target) not in DELIVERY_TRANSITIONS[DeliveryStatus(current)]:
        raise InvalidTransition(DeliveryStatus(current), DeliveryStatus(target))


class Verdict(StrEnum):
    """What one attempt's answer means for the delivery."""

    SENT = "sent"
    RETRY = "retry"  # a timeout, a refused connection, 429, 5xx
    GONE = "gone"  # 404/410: the browser unsubscribed
    REFUSED = "refused"  # 4xx other than the above (413 too large, 400, 401/403 bad VAPID): never retried


def verdict_for_status(status: int) -> Verdict:
    """Read a push service's HTTP status (RFC 8030) as a verdict."""
    if 200 <= status < 300:
        return Verdict.SENT
    if status in (404, 410):
        return Verdict.GONE
    if status == 429 or status >= 500 or status == 408:
        return Verdict.RETRY
    return Verdict.REFUSED


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter; Retry-After wins when the service sends one."""

    base_seconds: float = 5.0
    cap_seconds: float = 900.0
    max_attempts: int = 8
    lease_seconds: float = 60.0  # a claimed delivery is tried again after this if its sender died
    max_retry_after: float = 3600.0

    def delay(self, attempts: int, rand: float, retry_after: float | None = None) -> float:
        """Seconds to wait after the `attempts`-th failed attempt (rand uniform in [0, 1))."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** max(attempts - 1, 0))
        return ceiling / 2 + rand * ceiling / 2  # "equal jitter": never sooner than half the step

    def exhausted(self, attempts: int) -> bool:
        """Whether a delivery tried this many times is given up."""
        return attempts >= self.max_attempts


def after_attempt(verdict: Verdict, attempts: int, policy: RetryPolicy) -> DeliveryStatus:
    """The delivery's next status after an attempt with this verdict."""
    if verdict is Verdict.SENT:
        return DeliveryStatus.SENT
    if verdict is Verdict.GONE:
        return DeliveryStatus.GONE
    if verdict is Verdict.REFUSED or policy.exhausted(attempts):
        return DeliveryStatus.FAILED
    return DeliveryStatus.QUEUED
