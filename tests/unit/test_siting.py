"""Station siting: lazy greedy against brute force on small cases, and what the sites cover."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from dispatch.catalog import CareLevel
from dispatch.geo import great_circle_km_many
from dispatch.siting import BOUND, greedy, grid_candidates, incidence, site_stations, weight_of


def instance(seed: int, n: int = 40, spread: float = 0.08):
    rng = np.random.default_rng(seed)
    lats, lons = 25.8 + rng.uniform(-spread, spread, n), 113.0 + rng.uniform(-spread, spread, n)
    weights = rng.choice([1, 1, 2, 3, 4], size=n).astype(float)
    return lats, lons, weights


def covered_weight(matrix, weights, rows) -> float:
    if not rows:
        return 0.0
    hit = np.unique(np.concatenate([matrix.indices[matrix.indptr[i]:matrix.indptr[i + 1]] for i in rows]))
    return float(weights[hit].sum())


def plain_greedy(matrix, weights, k):
    chosen = []
    for _ in range(k):
        best = max(range(matrix.shape[0]), key=lambda i: (covered_weight(matrix, weights, [*chosen, i]), -i))
        chosen.append(best)
    return chosen


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_greedy_covers_at_least_the_bound_of_the_best_choice_of_candidates(seed, k):
    lats, lons, weights = instance(seed)
    cand_lats, cand_lons = grid_candidates(lats, lons, 2.5)
    cand_lats, cand_lons = cand_lats[:14], cand_lons[:14]
    matrix = incidence(cand_lats, cand_lons, lats, lons, 3.0)
    best = max(covered_weight(matrix, weights, list(rows)) for rows in itertools.combinations(range(14), k))
    got = covered_weight(matrix, weights, greedy(matrix, weights, k))
    assert got >= BOUND * best - 1e-9
    assert got == pytest.approx(covered_weight(matrix, weights, plain_greedy(matrix, weights, k)))  # lazy == plain


def test_incidence_is_exactly_the_seniors_within_the_radius():
    lats, lons, _ = instance(3, n=300, spread=0.2)
    cand_lats, cand_lons = grid_candidates(lats, lons, 1.5)
    matrix = incidence(cand_lats, cand_lons, lats, lons, 3.0).toarray() > 0
    for i in range(len(cand_lats)):
        assert np.array_equal(matrix[i], great_circle_km_many(cand_lats[i], cand_lons[i], lats, lons) <= 3.0)


def test_sites_improve_coverage_and_take_the_heavy_cluster_first():
    rng = np.random.default_rng(5)
    light = (25.70 + rng.normal(0, 0.005, 30), 113.00 + rng.normal(0, 0.005, 30), np.ones(30))  # 30 independent
    heavy = (25.90 + rng.normal(0, 0.005, 20), 113.10 + rng.normal(0, 0.005, 20), np.full(20, 4.0))  # 20 severe
    lats, lons, weights = (np.concatenate(pair) for pair in zip(light, heavy))
    sites = site_stations(lats, lons, weights, k=2, radius_km=3.0)
    assert len(sites) == 2 and sites[0].weight == 80 and sites[1].weight == 30
    assert abs(sites[0].lat - 25.90) < 0.02
    for s in sites:
        assert (great_circle_km_many(s.lat, s.lon, lats[s.seniors], lons[s.seniors]) <= 3.0).all()
    assert not set(sites[0].seniors.tolist()) & set(sites[1].seniors.tolist())
    assert site_stations(lats, lons, weights, k=5, radius_km=3.0)[2:] == []  # nothing left to gain
    assert site_stations([], [], [], k=3) == []


def test_weights_by_care_level():
    assert [weight_of(x) for x in (CareLevel.SEVERE, "moderate", "mild", "independent", None)] == [4, 3, 2, 1, 1]
