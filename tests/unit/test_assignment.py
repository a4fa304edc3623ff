"""Batch assignment of plan visits: continuity first, least travel, eligibility, hours and clashes."""
from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dispatch.assignment import (UNPLACED_KM, Visit, Worker, assign_visits, cost_matrix, greedy_assignment,
                                 optimal_assignment)
from dispatch.catalog import ServiceType
from tests.unit.conftest import BEIHU, offset

SH = ZoneInfo("Asia/Shanghai")
NINE = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)  # 09:00 local
ALL = frozenset(ServiceType)


def visit(id, north=0.0, east=0.0, *, start=NINE, hours=1, service=ServiceType.MEAL, continuity=()):
    lat, lon = offset(*BEIHU, north_km=north, east_km=east)
    return Visit(id, service, lat, lon, start, start + timedelta(hours=hours), tuple(continuity))


def worker(id, north=0.0, east=0.0, *, radius=5.0, services=ALL, busy=(), hours=(7 * 60, 21 * 60)):
    lat, lon = offset(*BEIHU, north_km=north, east_km=east)
    return Worker(id, frozenset(services), lat, lon, radius, tuple(busy), hours)


def brute_force(visits, workers):
    """The best (most placed, then least km) one-visit-per-worker assignment, by trying them all."""
    cost = cost_matrix(visits, workers, zone=SH)
    best = None
    slots = list(range(len(workers))) + [None] * len(visits)
    for perm in itertools.permutations(slots, len(visits)):
        picks = [(i, j) for i, j in enumerate(perm) if j is not None and cost[i, j] < UNPLACED_KM]
        if len(picks) != sum(j is not None for j in perm):
            continue
        key = (-len(picks), sum(cost[i, j] for i, j in picks))
        best = key if best is None or key < best else best
    return best


@pytest.mark.parametrize("seed", range(12))
def test_matching_equals_the_brute_force_optimum_on_small_cases(seed):
    rng = random.Random(seed)
    visits = [visit(i, rng.uniform(-4, 4), rng.uniform(-4, 4),
                    service=rng.choice([ServiceType.MEAL, ServiceType.CLEANING])) for i in range(4)]
    workers = [worker(100 + j, rng.uniform(-4, 4), rng.uniform(-4, 4), radius=rng.uniform(2, 6),
                      services=rng.sample(list(ServiceType), 2)) for j in range(5)]
    got = assign_visits(visits, workers, zone=SH, max_rounds=1)  # all at 09:00: one visit each
    placed, km = brute_force(visits, workers)
    assert len(got.chosen) == -placed
    assert got.total_km == pytest.approx(km, abs=1e-6)
    exact = optimal_assignment(visits, workers, zone=SH)
    assert len(exact.chosen) == -placed and exact.total_km == pytest.approx(km, abs=1e-6)


def test_least_total_travel_beats_nearest_first():
    # Greedy gives visit 1 the worker at 0 km, leaving visit 2 a 4 km trip; the optimum crosses over.
    visits = [visit(1, 0.0), visit(2, 1.0)]
    workers = [worker(10, 0.5, radius=5.0), worker(11, -3.0, radius=5.0)]
    best = assign_visits(visits, workers, zone=SH)
    greedy = greedy_assignment(visits, workers, zone=SH)
    assert best.total_km <= greedy.total_km + 1e-9
    assert best.worst_km < greedy.worst_km


def test_continuity_first_even_when_someone_is_nearer():
    visits = [visit(1, continuity=(20,))]
    workers = [worker(10, 0.1), worker(20, 3.0)]
    got = assign_visits(visits, workers, zone=SH)
    assert got.chosen == {1: 20} and got.by_continuity == {1}


def test_continuity_falls_back_when_that_provider_is_busy_or_out_of_range():
    busy = [(NINE - timedelta(minutes=30), NINE + timedelta(minutes=30))]
    got = assign_visits([visit(1, continuity=(20, 30))], [worker(10, 0.1), worker(20, busy=busy),
                                                         worker(30, 9.0)], zone=SH)
    assert got.chosen == {1: 10} and got.by_continuity == set()


def test_eligibility_service_radius_hours_and_clashes():
    evening = NINE + timedelta(hours=12)  # 21:00 local, past working hours
    visits = [visit(1, service=ServiceType.BATHING), visit(2, 6.0), visit(3, start=evening)]
    workers = [worker(10, services=[ServiceType.MEAL], radius=5.0)]
    got = assign_visits(visits, workers, zone=SH)
    assert got.chosen == {} and got.unassigned == [1, 2, 3]


def test_a_provider_takes_several_visits_that_do_not_overlap():
    visits = [visit(1, 0.1), visit(2, 0.2, start=NINE + timedelta(hours=2)), visit(3, 0.3)]  # 1 and 3 clash
    got = assign_visits(visits, [worker(10)], zone=SH)
    assert got.chosen in ({1: 10, 2: 10}, {3: 10, 2: 10})
    assert len(got.unassigned) == 1


def test_nobody_near_leaves_the_visit_unassigned():
    got = assign_visits([visit(1, 50.0)], [worker(10)], zone=SH)
    assert got.unassigned == [1] and got.chosen == {}
    assert assign_visits([visit(1)], [], zone=SH).unassigned == [1]


def test_sparse_matching_is_optimal_on_a_larger_random_case():
    rng = random.Random(7)
    visits = [visit(i, rng.uniform(-10, 10), rng.uniform(-10, 10)) for i in range(120)]
    workers = [worker(1000 + j, rng.uniform(-10, 10), rng.uniform(-10, 10), radius=4.0) for j in range(200)]
    got = assign_visits(visits, workers, zone=SH, max_rounds=1)
    exact = optimal_assignment(visits, workers, zone=SH)
    assert len(got.chosen) == len(exact.chosen)
    assert got.total_km <= exact.total_km * 1.01


def test_more_visits_placed_before_less_travel_when_not_all_can_be():
    # Both visits can only go to worker 10 (the nearer for each), visit 2 also to worker 11 far off:
    # the matching places both (2 → 11) rather than the cheaper single pick.
    visits = [visit(1, 0.0), visit(2, 1.0, service=ServiceType.CLEANING)]
    workers = [worker(10, 0.5), worker(11, 5.5, radius=5.0, services=[ServiceType.CLEANING])]
    got = assign_visits(visits, workers, zone=SH, max_rounds=1)
    assert got.chosen == {1: 10, 2: 11}
    # Three visits, one worker in reach of them all and nobody else: one placed, the nearest.
    crowd = [visit(1, 0.3), visit(2, 0.1), visit(3, -0.2), visit(4, 50.0)]
    got = assign_visits(crowd, [worker(10), worker(12, 80.0)], zone=SH, max_rounds=1)
    assert got.chosen == {2: 10} and got.unassigned == [1, 3, 4]


@pytest.mark.parametrize("seed", range(4))
def test_sparse_matching_equals_the_dense_optimum_with_scarce_supply(seed):
    rng = random.Random(seed)  # more visits than workers within reach: the dummy columns decide
    visits = [visit(i, rng.uniform(-6, 6), rng.uniform(-6, 6)) for i in range(60)]
    workers = [worker(1000 + j, rng.uniform(-6, 6), rng.uniform(-6, 6), radius=2.5) for j in range(40)]
    got = assign_visits(visits, workers, zone=SH, max_rounds=1)
    exact = optimal_assignment(visits, workers, zone=SH)
    assert len(got.chosen) == len(exact.chosen) < len(visits)
    assert got.total_km == pytest.approx(exact.total_km, rel=1e-9)


def test_ties_go_to_the_earlier_visits_placed_first_then_nearer():
    near, far = worker(10, 0.5), worker(11, 3.0)
    two = [visit(1, 0.0, start=NINE + timedelta(days=1)), visit(2, 0.0, start=NINE + timedelta(days=2))]
    assert assign_visits(two, [far, near], zone=SH, max_rounds=1).chosen == {1: 10, 2: 11}
    assert assign_visits(two[::-1], [near, far], zone=SH, max_rounds=1).chosen == {2: 10, 1: 11}
    three = [visit(i, 0.0, start=NINE + timedelta(days=i)) for i in (1, 2, 3)]  # two workers: one left out
    got = assign_visits(three, [far, near], zone=SH, max_rounds=1)
    assert got.chosen == {1: 10, 2: 11} and got.unassigned == [3]
