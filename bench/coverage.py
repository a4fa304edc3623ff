"""Coverage: CoverageIndex over 1M seniors × 5 service types against scikit-learn's BallTree (haversine),
and the time to bring coverage current after one provider moves."""
from __future__ import annotations

import time

import numpy as np

from bench.synthetic import KM_PER_DEG, make_points, make_providers
from dispatch.catalog import ServiceType
from dispatch.coverage import CoverageIndex
from dispatch.geo import EARTH_RADIUS_KM, IndexEntry

GOAL_FULL_S = 2.0
GOAL_RATIO = 100.0
GOAL_MOVE_MS = 10.0


def _seniors(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    pts = np.array(make_points(n, seed))
    return pts[:, 0], pts[:, 1]


def balltree_covered(lats: np.ndarray, lons: np.ndarray, providers: list[IndexEntry],
                     st: ServiceType) -> np.ndarray:
    """The baseline: a BallTree (haversine) of the type's providers, every one within the widest
    radius of each senior fetched with its distance, then each provider's own radius applied."""
    from sklearn.neighbors import BallTree

    mine = [p for p in providers if st in p.services]
    tree = BallTree(np.radians([[p.lat, p.lon] for p in mine]), metric="haversine")
    radii = np.array([p.radius_km for p in mine]) / EARTH_RADIUS_KM
    idx, dist = tree.query_radius(np.radians(np.column_stack((lats, lons))), r=radii.max(),
                                  return_distance=True)
    return np.array([bool((d <= radii[i]).any()) for i, d in zip(idx, dist)])


def _moves(index: CoverageIndex, providers: list[IndexEntry], n: int, seed: int) -> tuple[list[float], list[float]]:
    """ms (wall, CPU) to bring coverage current after each of n moves of a random provider by 0.2–3 km."""
    rng = np.random.default_rng(seed)
    ms, cpu = [], []
    for _ in range(n):
        p = providers[int(rng.integers(len(providers)))]
        km, bearing = rng.uniform(0.2, 3.0), rng.uniform(0, 2 * np.pi)
        lat = p.lat + km * np.cos(bearing) / KM_PER_DEG
        lon = p.lon + km * np.sin(bearing) / (KM_PER_DEG * np.cos(np.radians(p.lat)))
        moved = IndexEntry(p.provider_id, p.services, float(lat), float(lon), p.radius_km)
        c0, t0 = time.thread_time(), time.perf_counter()
        index.set_provider(p.provider_id, moved)
        ms.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
        providers[p.provider_id - 1] = moved
    return ms, cpu


def run_coverage_bench(n_seniors: int, n_providers: int, *, n_sample: int, n_moves: int, seed: int = 1) -> dict:
    """Full build, the BallTree baseline on a sample (scaled up), agreement on the sample, moves."""
    lats, lons = _seniors(n_seniors, seed + 1)
    providers = make_providers(n_providers, seed)
    c0, t0 = time.process_time(), time.perf_counter()
    index = CoverageIndex(np.arange(1, n_seniors + 1), lats, lons, providers)
    full_s, full_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    sample = np.random.default_rng(seed).choice(n_seniors, size=min(n_sample, n_seniors), replace=False)
    t0 = time.perf_counter()
    base = {st: balltree_covered(lats[sample], lons[sample], providers, st) for st in ServiceType}
    base_s = (time.perf_counter() - t0) * n_seniors / len(sample)
    differ = sum(int((index.covered(st)[sample] != base[st]).sum()) for st in ServiceType)
    ratios = {str(st): float(index.covered(st).mean()) for st in ServiceType}
    move_ms, move_cpu = _moves(index, list(providers), n_moves, seed + 7)
    return {"n_seniors": n_seniors, "n_providers": n_providers, "n_sample": len(sample), "full_s": full_s,
            "full_cpu_s": full_cpu_s, "move_cpu_p50_ms": float(np.percentile(move_cpu, 50)),
            "move_cpu_p95_ms": float(np.percentile(move_cpu, 95)),
            "balltree_s": base_s, "ratio": base_s / full_s, "differ": differ, "covered": ratios,
            "move_p50_ms": float(np.percentile(move_ms, 50)), "move_p95_ms": float(np.percentile(move_ms, 95)),
            "move_max_ms": float(max(move_ms)), "n_moves": n_moves}


def format_row(r: dict) -> str:
    """The section's text, goals checked."""
    scaled = r["n_sample"] < r["n_seniors"]
    lines = [
        (f"coverage: {r['n_seniors']:,} seniors × {len(ServiceType)} service types, {r['n_providers']:,} "
         "providers (synthetic Chenzhou, radii 3–10 km)"),
        (f"  CoverageIndex full build (cell raster + lifted 4-D cKDTree per type): {r['full_s']:.2f} s "
         f"(CPU {r['full_cpu_s']:.2f} s on all threads)"),
        f"  scikit-learn BallTree(haversine).query_radius per type: {r['balltree_s']:.1f} s"
        + (f" (run on a random {r['n_sample']:,} seniors and scaled up linearly)" if scaled else ""),
        f"  ratio: {r['ratio']:.0f}x; seniors whose coverage differs on the sample: {r['differ']}",
        "  covered share: " + ", ".join(f"{k} {v:.1%}" for k, v in r["covered"].items()),
        (f"  one provider moves 0.2–3 km, coverage current again: p50 {r['move_p50_ms']:.2f} ms, "
         f"p95 {r['move_p95_ms']:.2f} ms, max {r['move_max_ms']:.1f} ms over {r['n_moves']} moves "
         f"(CPU p50 {r['move_cpu_p50_ms']:.2f} ms, p95 {r['move_cpu_p95_ms']:.2f} ms)"),
        (f"goal: full build <= {GOAL_FULL_S:.0f} s: {'met' if r['full_s'] <= GOAL_FULL_S else 'NOT met'}; "
         f">= {GOAL_RATIO:.0f}x the BallTree: {'met' if r['ratio'] >= GOAL_RATIO else 'NOT met'}; "
         f"move p95 <= {GOAL_MOVE_MS:.0f} ms: {'met' if r['move_p95_ms'] <= GOAL_MOVE_MS else 'NOT met'} "
         "(wall clock; on a shared machine the CPU figures show what the work itself costs)"),
    ]
    return "\n".join(lines)


def section(quick: bool = False) -> str:
    """The coverage section of `python -m bench`: 1M seniors and 50k providers (quick: 100k and 5k)."""
    if quick:
        return format_row(run_coverage_bench(100_000, 5_000, n_sample=2_000, n_moves=50))
    return format_row(run_coverage_bench(1_000_000, 50_000, n_sample=2_000, n_moves=200))
