"""Builders for dispatch unit tests, as session fixtures (so hypothesis tests may use them too)."""
from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dispatch.catalog import ProviderStatus, ServiceType
from dispatch.geo import EARTH_RADIUS_KM
from dispatch.matching import ProviderSnapshot, RequestSpec

NOW = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # 10:00 in Chenzhou
BEIHU = (25.7927, 113.0110)  # Beihu District seat
KM_PER_DEG = EARTH_RADIUS_KM * math.pi / 180.0


def offset(lat: float, lon: float, north_km: float = 0.0, east_km: float = 0.0) -> tuple[float, float]:
    """A point about north_km / east_km from (lat, lon); tests measure real distances themselves."""
    return lat + north_km / KM_PER_DEG, lon + east_km / (KM_PER_DEG * math.cos(math.radians(lat)))


def provider(id: int, *, at: tuple[float, float] = BEIHU, **kw) -> ProviderSnapshot:
    """A verified, on-duty provider of every service with a 5 km radius, based at `at`."""
    base = ProviderSnapshot(
        id=id, status=ProviderStatus.VERIFIED, services=frozenset(ServiceType),
        base_lat=at[0], base_lon=at[1], service_radius_km=5.0, on_duty=True)
    return replace(base, **kw)


def request(*, at: tuple[float, float] = BEIHU, **kw) -> RequestSpec:
    """An as-soon-as-possible meal request for senior 7 at `at`, one hour from NOW."""
    base = RequestSpec(
        id=1, senior_id=7, service_type=ServiceType.MEAL, lat=at[0], lon=at[1],
        start=NOW, end=NOW + timedelta(hours=1), asap=True, care_level=None)
    return replace(base, **kw)


@pytest.fixture(scope="session")
def make_provider():
    return provider


@pytest.fixture(scope="session")
def make_request():
    return request


@pytest.fixture(scope="session")
def move():
    return offset


@pytest.fixture(scope="session")
def now():
    return NOW


@pytest.fixture(scope="session")
def beihu():
    return BEIHU
