"""A smoke test so the coverage benchmark keeps working: tiny sizes, its agreement check inside."""
from bench.coverage import balltree_covered, format_row, run_coverage_bench
from bench.synthetic import make_points, make_providers
from dispatch.catalog import ServiceType
from dispatch.coverage import CoverageIndex


def test_coverage_bench_runs_and_agrees_with_the_balltree():
    row = run_coverage_bench(3000, 150, n_sample=300, n_moves=20)
    assert row["differ"] == 0 and row["n_sample"] == 300 and row["full_s"] > 0 and row["balltree_s"] > 0
    assert 0 < row["move_p50_ms"] <= row["move_max_ms"]
    text = format_row(row)
    assert "scaled up linearly" in text and "goal:" in text


def test_the_baseline_is_the_coverage_rule():
    providers = make_providers(60, seed=3)
    points = make_points(400, seed=4)
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    index = CoverageIndex(range(400), lats, lons, providers)
    for st in ServiceType:
        base = balltree_covered(index.lats, index.lons, providers, st)
        assert (base == index.covered(st)).all() and 0 < base.sum()
