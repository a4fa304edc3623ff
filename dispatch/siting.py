"""Station siting: k points for new service stations that cover the most uncovered seniors, by weight.

Greedy maximum coverage over candidate sites. The candidates are the centres (the mean position) of
the occupied cells of a grid over the uncovered seniors (cell = radius / 2 by default), so every
uncovered senior has a candidate within ~0.35 × radius. Each candidate covers the seniors within
radius_km of it (a sparse candidate × senior incidence from one cKDTree query). Greedy takes, k
times, the candidate adding the most not-yet-covered weight; lazily: a candidate's gain can only
shrink as others are taken (coverage is submodular), so a stale gain on top of the heap that is
still the largest once recomputed is the true best.

Guarantee (Nemhauser, Wolsey & Fisher 1978): the k sites greedy picks cover at least (1 − 1/e) ≈
63.2% of the weight the best k of the same candidates could cover. The bound is relative to the
candidate set, not to every point of the plane.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree

from dispatch.catalog import CareLevel
from dispatch.geo import EARTH_RADIUS_KM, chord_for_km, unit_xyz

GUARANTEE = ("贪心最大覆盖：所选 k 个站点覆盖的加权人数不少于同一候选点中最优 k 个的 (1 − 1/e) ≈ 63.2% / "
             "Greedy maximum coverage: the k sites cover at least (1 − 1/e) ≈ 63.2% of the weight the best "
             "k of the same candidate sites could cover (Nemhauser, Wolsey & Fisher 1978)")
BOUND = 1.0 - 1.0 / math.e
WEIGHTS = {CareLevel.SEVERE: 4, CareLevel.MODERATE: 3, CareLevel.MILD: 2, CareLevel.INDEPENDENT: 1, None: 1}
DEFAULT_RADIUS_KM = 3.0


def weight_of(care_level: CareLevel | str | None) -> int:
    """A senior's weight by care level (severe 4, moderate 3, mild 2, independent 1, unassessed 1)."""
    return WEIGHTS[CareLevel(care_level) if care_level else None]


@dataclass(frozen=True)
class Site:
    lat: float
    lon: float
    seniors: np.ndarray  # indices (into the arrays given) of the seniors it newly covers
    weight: float


def grid_candidates(lats: np.ndarray, lons: np.ndarray, cell_km: float) -> tuple[np.ndarray, np.ndarray]:
    """The mean position of the points in each occupied cell of a cell_km grid."""
    if not len(lats):
        return np.empty(0), np.empty(0)
    step_lat = math.degrees(cell_km / EARTH_RADIUS_KM)
    step_lon = step_lat / max(math.cos(math.radians(float(np.mean(lats)))), 0.01)
    keys = np.floor(lats / step_lat).astype(np.int64) * 10_000_000 + np.floor(lons / step_lon).astype(np.int64)
    _, cell = np.unique(keys, return_inverse=True)
    count = np.bincount(cell)
    return np.bincount(cell, lats) / count, np.bincount(cell, lons) / count


def incidence(cand_lats, cand_lons, lats, lons, radius_km: float) -> sparse.csr_matrix:
    """Candidates × seniors: 1 where the senior lies within radius_km of the candidate."""
    tree = cKDTree(unit_xyz(lats, lons).reshape(-1, 3))
    balls = tree.query_ball_point(unit_xyz(cand_lats, cand_lons).reshape(-1, 3), float(chord_for_km(radius_km)),
                                  return_sorted=False)
    lengths = np.fromiter((len(b) for b in balls), np.int64, len(balls))
    cols = np.fromiter((i for b in balls for i in b), np.int64, int(lengths.sum()))
    indptr = np.concatenate(([0], np.cumsum(lengths)))
    return sparse.csr_matrix((np.ones(len(cols)), cols, indptr), shape=(len(balls), len(lats)))


def greedy(matrix: sparse.csr_matrix, weights: np.ndarray, k: int) -> list[int]:
    """Lazy greedy maximum weighted coverage: up to k row indices, best first (stops when nothing gains)."""
    left = np.asarray(weights, dtype=float).copy()
    gains = matrix @ left
    heap = [(-g, i) for i, g in enumerate(gains.tolist()) if g > 0]
    heapq.heapify(heap)
    chosen: list[int] = []
    while heap and len(chosen) < k:
        _, i = heapq.heappop(heap)
        row = matrix.indices[matrix.indptr[i]:matrix.indptr[i + 1]]
        gain = float(left[row].sum())
        if gain <= 0:
            continue
        if heap and gain < -heap[0][0]:
            heapq.heappush(heap, (-gain, i))  # stale: back with its true gain
            continue
        chosen.append(i)
        left[row] = 0.0
    return chosen


def site_stations(lats, lons, weights, k: int, radius_km: float = DEFAULT_RADIUS_KM, *,
                  cell_km: float | None = None) -> list[Site]:
    """Up to k sites (best first) covering the most weight of the given (uncovered) seniors."""
    lats, lons = np.asarray(lats, dtype=float), np.asarray(lons, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if not len(lats) or k <= 0:
        return []
    cand_lats, cand_lons = grid_candidates(lats, lons, cell_km or radius_km / 2)
    matrix = incidence(cand_lats, cand_lons, lats, lons, radius_km)
    sites, taken = [], np.zeros(len(lats), dtype=bool)
    for i in greedy(matrix, weights, k):
        row = matrix.indices[matrix.indptr[i]:matrix.indptr[i + 1]]
        new = np.sort(row[~taken[row]])
        taken[new] = True
        sites.append(Site(float(cand_lats[i]), float(cand_lons[i]), new, float(weights[new].sum())))
    return sites
