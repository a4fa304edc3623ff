"""Service statistics: the durations measured per request, their percentiles, the fulfilment rate.

Definitions (docs/subsidies.md, "Statistics"):
- accept minutes: how long dispatch took to find a provider. ASAP requests: created_at → assigned_at
  (the senior's wait starts when they book). Scheduled requests are offered only some time before
  they start, so: first_offer_at → assigned_at, or created_at → assigned_at when no offer was made
  (a provider assigned by hand).
- arrival minutes: how long after the provider was due the senior waited for them. ASAP: assigned_at
  → checkin_at. Scheduled: lateness, checkin_at − scheduled_start, at least 0 (early counts 0).
- fulfilment rate: completed / (requests − cancelled). Only the senior's side cancels (or a plan's
  pause or edit, their decision too); dispatch never does, it escalates. Requests still open count
  as not (yet) fulfilled. None when nothing is left after the cancellations.
Durations that come out negative (clock skew between processes) are dropped, not counted as 0.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

ACCEPT_PERCENTILES = (50, 90, 95)
SOS_PERCENTILES = (50, 90)


def percentiles(values: Iterable[float], qs: Sequence[int] = ACCEPT_PERCENTILES, digits: int = 1
                ) -> dict[str, float | None]:
    """{"p50": …, …} by linear interpolation between closest ranks (numpy's default), rounded;
    every value None when there is no sample."""
    sample = np.fromiter(values, dtype=float)
    if sample.size == 0:
        return {f"p{q}": None for q in qs}
    found = np.percentile(sample, qs)
    return {f"p{q}": round(float(v), digits) for q, v in zip(qs, found)}


def _minutes(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    minutes = (end - start).total_seconds() / 60.0
    return minutes if minutes >= 0 else None


@dataclass(frozen=True)
class Timing:
    """The moments of one request that the durations are measured between."""

    asap: bool
    created_at: datetime
    scheduled_start: datetime
    first_offer_at: datetime | None
    assigned_at: datetime | None
    checkin_at: datetime | None


def accept_minutes(t: Timing) -> float | None:
    """Minutes from when dispatch started looking to the assignment (None when not assigned)."""
    start = t.created_at if t.asap else (t.first_offer_at or t.created_at)
    return _minutes(start, t.assigned_at)


def arrival_minutes(t: Timing) -> float | None:
    """Minutes the senior waited after the provider was due (None without an assignment and check-in)."""
    if t.asap:
        return _minutes(t.assigned_at, t.checkin_at)
    if t.assigned_at is None or t.checkin_at is None:
        return None
    return max(0.0, (t.checkin_at - t.scheduled_start).total_seconds() / 60.0)


def fulfilment_rate(requests: int, completed: int, cancelled: int) -> float | None:
    """completed / (requests − cancelled), to 4 decimals; None when the denominator is 0."""
    left = requests - cancelled
    return None if left <= 0 else round(completed / left, 4)


def seconds_between(start: datetime, end: datetime | None) -> float | None:
    """Seconds from start to end (None when end is missing or before start)."""
    if end is None:
        return None
    seconds = (end - start).total_seconds()
    return seconds if seconds >= 0 else None
