"""Coverage against a brute-force haversine computation on random data, and kept current by changes."""
from __future__ import annotations

import numpy as np
import pytest

from dispatch.catalog import ServiceType
from dispatch.coverage import CoverageIndex
from dispatch.coverage_geometry import CellRaster
from dispatch.geo import IndexEntry, great_circle_km_many

TYPES = list(ServiceType)


def random_providers(rng, n: int, *, first_id: int = 1, spread: float = 0.3) -> list[IndexEntry]:
    out = []
    for i in range(n):
        services = frozenset(rng.choice(TYPES, size=rng.integers(1, 4), replace=False).tolist())
        out.append(IndexEntry(first_id + i, services, 25.8 + rng.normal() * spread / 3,
                              113.0 + rng.normal() * spread / 3, float(rng.uniform(0.5, 8.0))))
    return out


def random_seniors(rng, n: int, spread: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    return 25.8 + rng.uniform(-spread, spread, n), 113.0 + rng.uniform(-spread, spread, n)


def brute_force(lats, lons, providers, st) -> np.ndarray:
    covered = np.zeros(len(lats), dtype=bool)
    for p in providers:
        if st in p.services:
            covered |= great_circle_km_many(p.lat, p.lon, lats, lons) <= p.radius_km
    return covered


def assert_matches(index: CoverageIndex, providers) -> None:
    for st in TYPES:
        expected = brute_force(index.lats, index.lons, providers, st)
        assert np.array_equal(index.covered(st), expected), st


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_coverage_matches_brute_force_with_per_provider_radii(seed):
    rng = np.random.default_rng(seed)
    providers = random_providers(rng, 60)
    lats, lons = random_seniors(rng, 3000)
    index = CoverageIndex(np.arange(1, 3001), lats, lons, providers)
    assert_matches(index, providers)
    ratios = [index.covered(st).mean() for st in TYPES]
    assert all(0.05 < r < 0.99 for r in ratios), ratios  # the data tests both sides


def test_no_providers_covers_no_one_and_sanctioned_ones_are_left_out():
    rng = np.random.default_rng(7)
    lats, lons = random_seniors(rng, 500)
    providers = random_providers(rng, 30)
    index = CoverageIndex(np.arange(500), lats, lons, [])
    assert not any(index.covered(st).any() for st in TYPES)
    index = CoverageIndex(np.arange(500), lats, lons, providers)
    for p in providers[:10]:  # suspended or blacklisted: the caller passes None
        index.set_provider(p.provider_id, None)
    assert_matches(index, providers[10:])


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_incremental_changes_equal_a_rebuild(seed):
    rng = np.random.default_rng(seed)
    providers = {p.provider_id: p for p in random_providers(rng, 80)}
    lats, lons = random_seniors(rng, 4000)
    index = CoverageIndex(np.arange(4000), lats, lons, providers.values())
    for step in range(150):  # enough to rebuild the lifted trees more than once
        pid = int(rng.integers(1, 95))
        kind = rng.integers(0, 4)
        if kind == 0:
            providers.pop(pid, None)
            index.set_provider(pid, None)
        else:
            new = random_providers(rng, 1, first_id=pid)[0]
            providers[pid] = new
            index.set_provider(pid, new)
        if step % 50 == 49:
            assert_matches(index, list(providers.values()))
    rebuilt = CoverageIndex(index.ids, index.lats, index.lons, providers.values())
    for st in TYPES:
        assert np.array_equal(index.covered(st), rebuilt.covered(st))


def test_a_moved_provider_uncovers_its_old_ball_and_covers_its_new_one():
    a = IndexEntry(1, frozenset({ServiceType.MEAL}), 25.80, 113.00, 2.0)
    index = CoverageIndex([10, 11], [25.80, 25.90], [113.00, 113.00], [a])
    assert index.covered("meal").tolist() == [True, False]
    index.set_provider(1, IndexEntry(1, frozenset({ServiceType.MEAL}), 25.90, 113.00, 2.0))
    assert index.covered("meal").tolist() == [False, True]
    index.set_provider(1, IndexEntry(1, frozenset({ServiceType.CLEANING}), 25.90, 113.00, 2.0))
    assert index.covered("meal").tolist() == [False, False] and index.covered("cleaning").tolist() == [False, True]


@pytest.mark.parametrize("seed, loose_max", [(21, 10_000), (22, 100)])
def test_seniors_added_and_moved_are_covered_as_a_rebuild_would(seed, loose_max, monkeypatch):
    monkeypatch.setattr("dispatch.coverage._LOOSE_MAX", loose_max)  # 100: sorted again (and a new raster) often
    rng = np.random.default_rng(seed)
    providers = random_providers(rng, 50)
    lats, lons = random_seniors(rng, 1000, spread=0.15)
    index = CoverageIndex(np.arange(1000), lats, lons, providers)
    more_lats, more_lons = random_seniors(rng, 1500, spread=0.4)  # some beyond the first raster's extent
    for k in range(1500):  # 500 moves of known seniors, then 1000 new ones
        sid = int(rng.integers(0, 1000)) if k < 500 else 1000 + k
        index.set_senior(sid, float(more_lats[k]), float(more_lons[k]))
        if k % 500 == 499:
            assert_matches(index, providers)
    assert len(index) == 1000 + 1000
    movers = [IndexEntry(p.provider_id, p.services, 25.8 + 0.3 * (k % 2), 113.0 - 0.3, 15.0)
              for k, p in enumerate(providers[:4])]
    for p in movers:  # a provider change still finds the seniors moved and added
        index.set_provider(p.provider_id, p)
    assert_matches(index, [*movers, *providers[4:]])
    for p in movers:
        index.set_provider(p.provider_id, None)
    assert_matches(index, providers[4:])


def test_an_index_of_no_seniors_takes_them_as_they_come():
    p = IndexEntry(1, frozenset({ServiceType.MEAL}), 25.80, 113.00, 2.0)
    index = CoverageIndex([], [], [], [p])
    assert len(index) == 0 and index.covered("meal").tolist() == []
    index.set_senior(5, 25.801, 113.0)
    index.set_senior(6, 26.5, 113.0)
    assert index.covered("meal").tolist() == [True, False] and index.ids.tolist() == [5, 6]
    index.set_provider(1, IndexEntry(1, frozenset({ServiceType.MEAL}), 26.5, 113.0, 1.0))
    assert index.covered("meal").tolist() == [False, True]


@pytest.mark.parametrize("seed", [31, 32])
def test_a_cell_counted_as_covered_whole_is_covered_at_its_corners_and_inside(seed):
    rng = np.random.default_rng(seed)
    providers = random_providers(rng, 40)
    lats, lons = random_seniors(rng, 200)
    raster = CellRaster(lats, lons)
    counts = raster.counts([p.lat for p in providers], [p.lon for p in providers], [p.radius_km for p in providers])
    assert counts.max() >= 2  # overlapping disks are counted
    for p in providers[:10]:
        one = raster.counts([p.lat], [p.lon], [p.radius_km])
        cells = np.flatnonzero(one)
        assert len(cells) > 0
        r, c = np.divmod(cells, raster.cols)
        south, west = raster.lat0 + r * raster.cell, raster.lon0 + c * raster.cell
        for dy, dx in [(0, 0), (0, 1), (1, 0), (1, 1), (0.5, 0.5), (rng.random(), rng.random())]:
            km = great_circle_km_many(p.lat, p.lon, south + dy * raster.cell, west + dx * raster.cell)
            assert (km <= p.radius_km).all()
        # and the spans are not needlessly thin: most cells whose far corner lies inside are counted
        rows, cols = np.divmod(np.arange(raster.size), raster.cols)
        centre_km = great_circle_km_many(p.lat, p.lon, raster.lat0 + (rows + 0.5) * raster.cell,
                                         raster.lon0 + (cols + 0.5) * raster.cell)
        surely = centre_km <= p.radius_km - 2 * raster.half_diagonal_km
        assert one[surely].all()
    grid = counts.reshape(raster.rows, raster.cols)
    again = np.zeros_like(counts)
    for p in providers:
        raster.add(again, p, 1)
    assert np.array_equal(again, counts) and grid.sum() == counts.sum()
