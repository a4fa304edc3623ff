"""Visit rules: time overlaps, check-in distance, and what a provider may see of the senior."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from dispatch.geo import geodesic_km
from dispatch.lifecycle import VISIT_STATUSES, RequestStatus

CHECKIN_THRESHOLD_M = 500.0
COARSE_DECIMALS = 2  # 0.01° is about 1.1 km north-south (and ~1.0 km east-west in Chenzhou)
OVERDUE_AFTER = timedelta(minutes=30)


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Whether half-open intervals [a_start, a_end) and [b_start, b_end) share any instant."""
    # Half-open so back-to-back visits (one ends at 10:00, the next starts at 10:00) are allowed.
    return a_start < b_end and b_start < a_end


def is_free(busy: Iterable[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    """Whether [start, end) overlaps none of the busy intervals."""
    return not any(overlaps(s, e, start, end) for s, e in busy)


def checkin_distance_flag(senior_lat: float, senior_lon: float, lat: float, lon: float,
                          threshold_m: float = CHECKIN_THRESHOLD_M) -> tuple[float, bool]:
    """(metres from the senior's address, flagged) for a check-in/out point; flagged when farther
    than threshold_m, so staff review the visit before it counts for a subsidy."""
    metres = geodesic_km(senior_lat, senior_lon, lat, lon) * 1000.0
    return metres, metres > threshold_m


def address_visible(status: RequestStatus) -> bool:
    """Whether the assigned provider may see the exact address and phone (PIPL: only during the visit)."""
    return RequestStatus(status) in VISIT_STATUSES


def coarse_area(lat: float, lon: float) -> tuple[float, float]:
    """The point snapped to a ~1 km grid (0.01°), shown in offers before acceptance."""
    return round(lat, COARSE_DECIMALS), round(lon, COARSE_DECIMALS)


def is_overdue(status: RequestStatus, scheduled_start: datetime, now: datetime) -> bool:
    """An open visit not yet in service OVERDUE_AFTER its start (the center's live view flags it)."""
    waiting = RequestStatus(status) not in (RequestStatus.IN_SERVICE, RequestStatus.COMPLETED, RequestStatus.CANCELLED)
    return waiting and now - scheduled_start > OVERDUE_AFTER
