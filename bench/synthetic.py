"""Deterministic synthetic Chenzhou: providers and seniors around the 11 district seats and towns."""
from __future__ import annotations

import csv
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dispatch.catalog import ServiceType
from dispatch.geo import EARTH_RADIUS_KM, IndexEntry

DISTRICTS_CSV = Path(__file__).resolve().parents[1] / "models" / "reference" / "chenzhou_districts.csv"
KM_PER_DEG = EARTH_RADIUS_KM * np.pi / 180.0
SEAT_SHARE = 0.6  # the rest of a district's people live in its towns
TOWNS_PER_DISTRICT = 3
TOWN_SIGMA_KM = 2.0
RADIUS_KM = (3.0, 10.0)
SERVICES = tuple(ServiceType)


@dataclass(frozen=True)
class Cluster:
    lat: float
    lon: float
    sigma_km: float
    weight: float


def _district_clusters(row: dict[str, str]) -> list[Cluster]:
    lat, lon, pop = float(row["seat_lat"]), float(row["seat_lon"]), float(row["population_approx"])
    sigma = 3.0 if row["kind"] == "urban_district" else 10.0
    out = [Cluster(lat, lon, sigma, pop * SEAT_SHARE)]
    # Towns depend only on the district code, so they stay put whatever n or seed is asked for.
    rng = np.random.default_rng(zlib.crc32(row["code"].encode()))
    for _ in range(TOWNS_PER_DISTRICT):
        dist, bearing = rng.uniform(10.0, 25.0), rng.uniform(0.0, 2 * np.pi)
        dlat = dist * np.cos(bearing) / KM_PER_DEG
        dlon = dist * np.sin(bearing) / (KM_PER_DEG * np.cos(np.radians(lat)))
        out.append(Cluster(lat + dlat, lon + dlon, TOWN_SIGMA_KM, pop * (1 - SEAT_SHARE) / TOWNS_PER_DISTRICT))
    return out


def clusters(path: Path = DISTRICTS_CSV) -> list[Cluster]:
    """Population-weighted clusters: each district seat plus a few towns 10–25 km away."""
    with open(path, newline="", encoding="utf-8") as f:
        return [c for row in csv.DictReader(f) for c in _district_clusters(row)]


def _scatter(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    cs = clusters()
    weights = np.array([c.weight for c in cs])
    pick = rng.choice(len(cs), size=n, p=weights / weights.sum())
    lat0 = np.array([c.lat for c in cs])[pick]
    lon0 = np.array([c.lon for c in cs])[pick]
    sigma = np.array([c.sigma_km for c in cs])[pick]
    north, east = rng.normal(size=(2, n)) * sigma
    return lat0 + north / KM_PER_DEG, lon0 + east / (KM_PER_DEG * np.cos(np.radians(lat0)))


def make_providers(n: int, seed: int = 1) -> list[IndexEntry]:
    """n providers (ids 1..n) with 1–3 random services and a 3–10 km service radius."""
    rng = np.random.default_rng(seed)
    lats, lons = _scatter(n, rng)
    radii = rng.uniform(*RADIUS_KM, size=n)
    counts = rng.integers(1, 4, size=n)
    out = []
    for i in range(n):
        chosen = rng.choice(len(SERVICES), size=counts[i], replace=False)
        services = frozenset(SERVICES[j] for j in chosen)
        out.append(IndexEntry(i + 1, services, float(lats[i]), float(lons[i]), float(radii[i])))
    return out


def make_points(n: int, seed: int = 2) -> list[tuple[float, float]]:
    """n senior locations (lat, lon) drawn from the same population clusters."""
    lats, lons = _scatter(n, np.random.default_rng(seed))
    return list(zip(lats.tolist(), lons.tolist()))
