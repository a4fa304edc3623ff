"""Search while providers move: one provider's position changes before every query, as on-duty
providers report where they are. GeoIndex answers beside its trees and builds new ones only every
`rebuild_after` changes; the naive baseline, measured in the same run, builds new trees for every
change (what GeoIndex did before)."""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from bench.search import SHORT_LIST, make_queries
from bench.synthetic import KM_PER_DEG, make_providers
from dispatch.geo import GeoIndex, IndexEntry
from server.cooperate import in_background

MOVE_KM = 1.0  # how far a provider moves between two reports, at most


def _moves(entries: list[IndexEntry], n: int, seed: int) -> list[IndexEntry]:
    rng = np.random.default_rng(seed)
    out = []
    for k, dlat, dlon in zip(rng.integers(0, len(entries), n), *rng.uniform(-MOVE_KM, MOVE_KM, (2, n))):
        e = entries[int(k)]
        out.append(replace(e, lat=e.lat + dlat / KM_PER_DEG,
                           lon=e.lon + dlon / (KM_PER_DEG * np.cos(np.radians(e.lat)))))
    return out


def _us(ns: list[int]) -> dict[str, float]:
    a = np.asarray(ns, dtype=float) / 1000.0
    return {"p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)), "max": float(a.max()),
            "mean": float(a.mean())}


def _live(entries, moves, queries, build_elsewhere) -> tuple[list[int], int, GeoIndex]:
    """ns per move + query on a live index, the new trees it built, the index."""
    index = GeoIndex.build(entries, build_elsewhere=build_elsewhere)
    clock, ns = time.perf_counter_ns, []
    for move, (st, lat, lon) in zip(moves, queries):
        t0 = clock()
        index.upsert(move)
        index.candidates(st, lat, lon, limit=SHORT_LIST)
        ns.append(clock() - t0)
    return ns, index.trees_built - 1, index


def run_moving_bench(n_providers: int, n_queries: int = 3000, n_naive: int = 10, seed: int = 3) -> dict:
    """Per query, one provider moved then a short list asked for: live index vs rebuild-per-change."""
    entries = make_providers(n_providers, seed)
    queries = make_queries(n_queries, seed + 1)
    moves = _moves(entries, n_queries, seed + 2)
    clock = time.perf_counter_ns

    live, trees, index = _live(entries, moves, queries, None)
    threaded, threaded_trees, _ = _live(entries, moves, queries, in_background)

    current = {e.provider_id: e for e in entries}
    naive = []
    for move, (st, lat, lon) in zip(moves[:n_naive], queries[:n_naive]):
        t0 = clock()
        current[move.provider_id] = move
        GeoIndex.build(current.values()).candidates(st, lat, lon, limit=SHORT_LIST)
        naive.append(clock() - t0)
    # The live index, given the same changes, answers as trees built afresh.
    check = GeoIndex.build(entries)
    for move in moves[:n_naive]:
        check.upsert(move)
    rebuilt = GeoIndex.build(current.values())
    agree = all([i for i, _ in check.candidates(st, lat, lon, limit=SHORT_LIST)]
                == [i for i, _ in rebuilt.candidates(st, lat, lon, limit=SHORT_LIST)] for st, lat, lon in queries[:200])
    return {"n_providers": n_providers, "n_queries": n_queries, "n_naive": len(naive), "live": _us(live),
            "threaded": _us(threaded), "naive": _us(naive), "trees": trees, "threaded_trees": threaded_trees,
            "rebuild_after": index.rebuild_after, "agree": agree}


def format_rows(rows: list[dict]) -> str:
    lines = [f"moving: one provider moves (up to {MOVE_KM:g} km) before each short-list query; µs per move + query",
             f"{'providers':>9} {'':>22} {'n':>5} {'p50':>9} {'p95':>9} {'max':>9} {'mean':>9}"]
    for r in rows:
        for label, key, n in (("live index", "live", r["n_queries"]),
                              ("  new trees on a thread", "threaded", r["n_queries"]),
                              ("naive: new trees each", "naive", r["n_naive"])):
            f = r[key]
            lines.append(f"{r['n_providers']:>9} {label:>22} {n:>5} {f['p50']:>9.1f} {f['p95']:>9.1f} "
                         f"{f['max']:>9.0f} {f['mean']:>9.1f}")
        lines.append(f"{'':>9} {'x (naive / live)':>22} {'':>5} {r['naive']['p50'] / r['live']['p50']:>8.0f}x "
                     f"{r['naive']['p95'] / r['live']['p95']:>8.0f}x {'':>9} {r['naive']['mean'] / r['live']['mean']:>8.0f}x")
        lines.append(f"  {r['n_providers']}: {r['trees']} new trees in {r['n_queries']} moves (one per "
                     f"{r['rebuild_after']} changed providers; {r['threaded_trees']} on a thread, while the "
                     f"queries went on beside the old ones); short lists after the changes "
                     f"{'match' if r['agree'] else 'DIFFER FROM'} fresh trees' on 200 queries")
    return "\n".join(lines)


def section(quick: bool = False) -> str:
    """The moving section of `python -m bench`: 10k and 50k providers."""
    n_queries, n_naive = (600, 3) if quick else (3000, 10)
    return format_rows([run_moving_bench(n, n_queries=n_queries, n_naive=n_naive) for n in (10_000, 50_000)])
