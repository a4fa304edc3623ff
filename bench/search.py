"""Candidate search: GeoIndex.candidates against a naive geopy geodesic scan, in the same run."""
from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from geopy.distance import geodesic

from bench.synthetic import make_points, make_providers
from dispatch.catalog import ServiceType
from dispatch.geo import GeoIndex, IndexEntry, great_circle_km_many

GOAL_P95_US = 50.0
GOAL_RATIO = 10_000.0
EXACT_TOLERANCE_KM = 0.001  # index vs a haversine scan: same sphere, so 1 m is plenty
# index (sphere) vs geodesic (WGS-84 ellipsoid): the two disagree by up to ~0.4% of a distance
# at Chenzhou's latitude, so a provider that close to its radius may fall either side.
ELLIPSOID_TOLERANCE = 0.005
SHORT_LIST = 64  # enough for three waves even at SOS priority (7 + 14 + 28)

Query = tuple[ServiceType, float, float]


def make_queries(n: int, seed: int) -> list[Query]:
    """n (service type, lat, lon) senior requests, deterministic for a seed."""
    rng = np.random.default_rng(seed)
    services = list(ServiceType)
    picks = rng.integers(0, len(services), size=n)
    return [(services[k], lat, lon) for k, (lat, lon) in zip(picks, make_points(n, seed + 1))]


def _percentiles_us(ns: Sequence[int]) -> tuple[float, float]:
    a = np.asarray(ns, dtype=float) / 1000.0
    return float(np.percentile(a, 50)), float(np.percentile(a, 95))


def _time_index(index: GeoIndex, queries: Sequence[Query], limit: int | None) -> tuple[list[int], list[int]]:
    for st, lat, lon in queries[:50]:  # warm caches and the lazily built snapshots
        index.candidates(st, lat, lon, limit=limit)
    clock, ns, sizes = time.perf_counter_ns, [], []
    for st, lat, lon in queries:
        t0 = clock()
        hits = index.candidates(st, lat, lon, limit=limit)
        ns.append(clock() - t0)
        sizes.append(len(hits))
    return ns, sizes


def naive_scan(entries: Sequence[IndexEntry], lat: float, lon: float) -> list[tuple[int, float]]:
    """The baseline: geodesic distance to every provider of the service, kept when within its radius."""
    here = (lat, lon)
    hits = []
    for e in entries:
        km = geodesic(here, (e.lat, e.lon)).km
        if km <= e.radius_km:
            hits.append((e.provider_id, km))
    hits.sort(key=lambda h: (h[1], h[0]))
    return hits


def _time_naive(by_service, queries: Sequence[Query]) -> tuple[list[int], list[list[tuple[int, float]]]]:
    clock, ns, results = time.perf_counter_ns, [], []
    for st, lat, lon in queries:
        t0 = clock()
        hits = naive_scan(by_service[st], lat, lon)
        ns.append(clock() - t0)
        results.append(hits)
    return ns, results


def _check_exact(index: GeoIndex, by_service, query: Query) -> None:
    st, lat, lon = query
    entries = by_service[st]
    km = great_circle_km_many(lat, lon, [e.lat for e in entries], [e.lon for e in entries])
    radii = np.array([e.radius_km for e in entries])
    ids = np.array([e.provider_id for e in entries])
    got = dict(index.candidates(st, lat, lon))
    sure = set(ids[km <= radii - EXACT_TOLERANCE_KM].tolist())
    maybe = set(ids[km <= radii + EXACT_TOLERANCE_KM].tolist())
    assert sure <= set(got) <= maybe, f"index differs from a haversine scan at {query}"
    expected = dict(zip(ids.tolist(), km.tolist()))
    assert all(abs(d - expected[i]) <= EXACT_TOLERANCE_KM for i, d in got.items())


def _check_naive(index: GeoIndex, by_service, query: Query, naive: list[tuple[int, float]]) -> int:
    st, lat, lon = query
    got = {i for i, _ in index.candidates(st, lat, lon)}
    want = {i for i, _ in naive}
    radius = {e.provider_id: e.radius_km for e in by_service[st]}
    differ = got ^ want
    for pid in differ:
        e = next(e for e in by_service[st] if e.provider_id == pid)
        km = geodesic((lat, lon), (e.lat, e.lon)).km
        assert abs(km - radius[pid]) <= ELLIPSOID_TOLERANCE * radius[pid] + EXACT_TOLERANCE_KM, (
            f"provider {pid} differs far from its radius at {query}")
    return len(differ)


def run_search_bench(n_providers: int, n_queries: int = 2000, seed: int = 1, n_naive: int = 20) -> dict:
    """Per-query latency of GeoIndex.candidates and of the naive geodesic scan, with sanity checks."""
    entries = make_providers(n_providers, seed)
    queries = make_queries(n_queries, seed + 100)
    t0 = time.perf_counter_ns()
    index = GeoIndex.build(entries)
    build_ms = (time.perf_counter_ns() - t0) / 1e6
    by_service = {st: [e for e in entries if st in e.services] for st in ServiceType}

    index_ns, sizes = _time_index(index, queries, None)
    short_ns, _ = _time_index(index, queries, SHORT_LIST)
    naive_queries = queries[:n_naive]
    naive_ns, naive_results = _time_naive(by_service, naive_queries)

    for q in queries[:200]:
        _check_exact(index, by_service, q)
    boundary = sum(_check_naive(index, by_service, q, r) for q, r in zip(naive_queries, naive_results))

    index_p50, index_p95 = _percentiles_us(index_ns)
    short_p50, short_p95 = _percentiles_us(short_ns)
    naive_p50, naive_p95 = _percentiles_us(naive_ns)
    return {
        "n_providers": n_providers, "n_queries": n_queries, "n_naive": len(naive_queries),
        "build_ms": build_ms,
        "candidates_p50": float(np.percentile(sizes, 50)), "candidates_p95": float(np.percentile(sizes, 95)),
        "index_p50_us": index_p50, "index_p95_us": index_p95,
        "short_p50_us": short_p50, "short_p95_us": short_p95,
        "naive_p50_us": naive_p50, "naive_p95_us": naive_p95,
        "ratio_p50": naive_p50 / index_p50, "ratio_p95": naive_p95 / index_p95,
        "naive_candidates": sum(len(r) for r in naive_results), "boundary_diffs": boundary,
    }


def format_rows(rows: Sequence[dict]) -> str:
    """A plain-text table of run_search_bench results, with the goals checked on the largest run."""
    head = (f"{'providers':>9} {'build ms':>8} {'cands p50/p95':>13} {'index p50':>9} {'index p95':>9} "
            f"{'top64 p50/p95':>13} {'naive p50':>10} {'naive p95':>10} {'x p50':>7} {'x p95':>7}")
    lines = ["search: GeoIndex.candidates vs naive geopy.geodesic scan (latencies in µs per query)", head]
    for r in rows:
        lines.append(
            f"{r['n_providers']:>9} {r['build_ms']:>8.1f} "
            f"{r['candidates_p50']:>6.0f}/{r['candidates_p95']:<6.0f} "
            f"{r['index_p50_us']:>9.1f} {r['index_p95_us']:>9.1f} "
            f"{r['short_p50_us']:>6.1f}/{r['short_p95_us']:<6.1f} "
            f"{r['naive_p50_us']:>10.0f} {r['naive_p95_us']:>10.0f} "
            f"{r['ratio_p50']:>7.0f} {r['ratio_p95']:>7.0f}")
    for r in rows:
        lines.append(f"  {r['n_providers']}: {r['n_queries']} index queries, {r['n_naive']} naive; "
                     f"same candidates as the naive scan except {r['boundary_diffs']} of "
                     f"{r['naive_candidates']} within the sphere/ellipsoid band of a radius")
    big = max(rows, key=lambda r: r["n_providers"])
    ok_p95 = big["index_p95_us"] <= GOAL_P95_US
    ok_ratio = min(big["ratio_p50"], big["ratio_p95"]) >= GOAL_RATIO
    lines.append(f"goal at {big['n_providers']}: index p95 <= {GOAL_P95_US:.0f} µs: "
                 f"{'met' if ok_p95 else 'NOT met'}; >= {GOAL_RATIO:,.0f}x faster (p50 and p95): "
                 f"{'met' if ok_ratio else 'NOT met'}")
    return "\n".join(lines)


def section(quick: bool = False) -> str:
    """The search section of bench/dispatch.py: 10k and 50k providers."""
    n_queries, n_naive = (500, 5) if quick else (2000, 20)
    return format_rows([run_search_bench(n, n_queries=n_queries, n_naive=n_naive) for n in (10_000, 50_000)])
