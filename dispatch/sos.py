"""Emergency (SOS): the nearest on-duty responders and when an unacknowledged alert escalates."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import numpy as np

from dispatch.catalog import ProviderStatus
from dispatch.geo import great_circle_km_many
from dispatch.matching import ProviderSnapshot, position_of

SOS_ACK_TIMEOUT = timedelta(minutes=3)
SOS_LIMIT = 5
SOS_RADIUS_KM = 3.0


def nearest_responders(providers: Mapping[int, ProviderSnapshot], lat: float, lon: float, *, now: datetime, limit: int = SOS_LIMIT,
                       radius_km: float = SOS_RADIUS_KM) -> list[tuple[int, float]]:
    """Up to limit (provider_id, km) nearest first: verified on-duty providers of any service whose
    current position (position_of) is within radius_km of the SOS point."""
    # Not the geo index: it holds base positions, and an on-duty provider may be anywhere. On-duty
    # providers are few (hundreds, not 50k), so one vectorised haversine over them is exact and fast.
    on_duty = [p for p in providers.values()
               if p.on_duty and ProviderStatus(p.status) is ProviderStatus.VERIFIED]
    if not on_duty or limit <= 0:
        return []
    positions = np.array([position_of(p, now) for p in on_duty], dtype=float)
    km = great_circle_km_many(lat, lon, positions[:, 0], positions[:, 1])
    ids = np.array([p.id for p in on_duty], dtype=np.int64)
    near = km <= radius_km
    km, ids = km[near], ids[near]
    order = np.lexsort((ids, km))[:limit]  # nearest first, ties by id
    return list(zip(ids[order].tolist(), km[order].tolist()))


def sos_needs_escalation(opened_at: datetime, acked_at: datetime | None,
                         last_escalated_at: datetime | None, now: datetime) -> bool:
    """Whether an SOS nobody has acknowledged should be escalated (again) now: once SOS_ACK_TIMEOUT
    has passed since it opened, then again every SOS_ACK_TIMEOUT until someone acknowledges."""
    if acked_at is not None:
        return False
    since = last_escalated_at if last_escalated_at is not None else opened_at
    return now - since >= SOS_ACK_TIMEOUT
