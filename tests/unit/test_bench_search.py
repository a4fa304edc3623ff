"""A smoke test so the benchmark keeps working: tiny sizes, real sanity checks inside."""
from pathlib import Path

from bench.search import SHORT_LIST, format_rows, make_queries, naive_short_list, run_search_bench
from bench.synthetic import make_points, make_providers


def test_synthetic_data_is_deterministic_and_around_chenzhou():
    a, b = make_providers(300, seed=4), make_providers(300, seed=4)
    assert a == b and a != make_providers(300, seed=5)
    assert all(24.5 < e.lat < 27.5 and 111.8 < e.lon < 114.6 and 3 <= e.radius_km <= 10 for e in a)
    assert all(1 <= len(e.services) <= 3 for e in a)
    assert make_points(50, seed=9) == make_points(50, seed=9)
    assert make_queries(20, seed=3) == make_queries(20, seed=3)


def test_search_bench_runs_and_agrees_with_the_naive_scan():
    row = run_search_bench(400, n_queries=60, n_naive=3)
    assert row["n_naive"] == 3 and row["naive_candidates"] > 0
    assert 0 < row["short_mean"] <= SHORT_LIST
    assert row["short_p50_us"] > 0 and row["full_p50_us"] > 0 and row["ratio_p50"] > 1
    assert len(row["round_p95s_us"]) == 3 and row["short_p95_us"] == sorted(row["round_p95s_us"])[1]
    assert "goal at 400" in format_rows([row])


def test_naive_short_list_is_the_nearest_covering_providers_in_order():
    entries = make_providers(300, seed=4)
    lat, lon = make_points(1, seed=9)[0]
    short = naive_short_list(entries, lat, lon, limit=5)
    assert len(short) <= 5 and [d for _, d in short] == sorted(d for _, d in short)
    radius = {e.provider_id: e.radius_km for e in entries}
    assert all(d <= radius[i] for i, d in short)


def test_every_bench_module_with_a_section_is_registered():
    """`python -m bench` runs every section: a module of bench/ with a section() is in SECTIONS."""
    import importlib

    from bench.__main__ import SECTIONS
    folder = Path(__file__).resolve().parents[2] / "bench"
    with_section = {p.stem for p in folder.glob("*.py")
                    if hasattr(importlib.import_module(f"bench.{p.stem}"), "section") and p.stem != "__main__"}
    registered = {fn.__module__.rsplit(".", 1)[-1] for fn in SECTIONS.values()}
    assert with_section <= registered and {"search", "booking"} <= set(SECTIONS)


def test_moving_bench_runs_and_the_live_index_agrees_with_fresh_trees():
    from bench.moving import format_rows as moving_rows
    from bench.moving import run_moving_bench

    row = run_moving_bench(400, n_queries=150, n_naive=2)
    assert row["agree"] and 1 <= row["trees"] <= 150 // 65  # new trees once more than 64 providers changed
    assert row["live"]["p50"] > 0 and row["naive"]["p50"] > 0
    assert "400" in moving_rows([row])
