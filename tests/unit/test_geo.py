import math
import threading

import numpy as np
import pytest
from geopy.distance import great_circle
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.catalog import ServiceType
from dispatch.geo import (GeoIndex, IndexEntry, ProviderIndex, bounding_box, chord_for_km,
                          geodesic_km, great_circle_km, great_circle_km_many, km_for_chord)

BOUNDARY_KM = 0.001  # results may differ from brute force only within 1 m of a radius

lat_s = st.floats(25.0, 26.8)
lon_s = st.floats(112.2, 114.1)


def _brute(lats, lons, radii, lat, lon, radius_km=None):
    km = great_circle_km_many(lat, lon, lats, lons)
    reach = np.asarray(radii) if radius_km is None else radius_km
    return km, reach


def _check_against_brute(index, ids, lats, lons, radii, lat, lon, radius_km=None):
    got = index.query(lat, lon, radius_km)
    km, reach = _brute(lats, lons, radii, lat, lon, radius_km)
    sure_in = {i for i, d, r in zip(ids, km, np.broadcast_to(reach, km.shape)) if d <= r - BOUNDARY_KM}
    maybe = {i for i, d, r in zip(ids, km, np.broadcast_to(reach, km.shape)) if d <= r + BOUNDARY_KM}
    got_ids = [i for i, _ in got]
    assert len(got_ids) == len(set(got_ids))
    assert sure_in <= set(got_ids) <= maybe
    expected_km = dict(zip(ids, km))
    for i, d in got:
        assert d == pytest.approx(expected_km[i], abs=BOUNDARY_KM)
    assert [d for _, d in got] == sorted(d for _, d in got)


def test_great_circle_matches_geopy():
    a, b = (25.7927, 113.0110), (26.7093, 113.2697)
    assert great_circle_km(*a, *b) == pytest.approx(great_circle(a, b).km, rel=1e-6)
    assert great_circle_km(*a, *a) == 0.0


def test_vectorised_great_circle_matches_scalar():
    rng = np.random.default_rng(3)
    lats, lons = rng.uniform(-80, 80, 50), rng.uniform(-180, 180, 50)
    many = great_circle_km_many(10.0, 20.0, lats, lons)
    assert many == pytest.approx([great_circle_km(10.0, 20.0, a, b) for a, b in zip(lats, lons)])


def test_geodesic_is_close_to_great_circle_for_short_distances():
    a, b = (25.7927, 113.0110), (25.7970, 113.0420)
    assert geodesic_km(*a, *b) == pytest.approx(great_circle_km(*a, *b), rel=5e-3)


@given(st.floats(0.0, 20000.0))
def test_chord_and_km_are_inverse(km):
    assert float(km_for_chord(chord_for_km(km))) == pytest.approx(km, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(lat_s, lon_s, st.floats(0.5, 30.0)), max_size=120), lat_s, lon_s)
def test_radius_query_matches_brute_force(rows, lat, lon):
    ids = list(range(100, 100 + len(rows)))
    lats, lons, radii = ([r[k] for r in rows] for k in range(3))
    index = ProviderIndex.build(ids, lats, lons, radii)
    _check_against_brute(index, ids, lats, lons, radii, lat, lon)
    _check_against_brute(index, ids, lats, lons, radii, lat, lon, radius_km=15.0)


def test_seeded_dense_query_matches_brute_force():
    rng = np.random.default_rng(11)
    n = 5000
    lats, lons = 25.79 + rng.normal(0, 0.05, n), 113.01 + rng.normal(0, 0.05, n)
    radii = rng.uniform(3, 10, n)
    ids = rng.permutation(n) + 1
    index = ProviderIndex.build(ids, lats, lons, radii)
    for lat, lon in zip(25.79 + rng.normal(0, 0.08, 50), 113.01 + rng.normal(0, 0.08, 50)):
        _check_against_brute(index, list(ids), lats, lons, radii, lat, lon)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(lat_s, lon_s, st.floats(0.01, 30.0)), min_size=1, max_size=150),
       lat_s, lon_s, st.integers(1, 40))
def test_limit_is_a_prefix_of_the_full_answer(rows, lat, lon, limit):
    ids = list(range(1, len(rows) + 1))
    index = ProviderIndex.build(ids, *([r[k] for r in rows] for k in range(3)))
    full, short = index.query(lat, lon), index.query(lat, lon, limit=limit)
    assert short == full[:limit]  # same ids, same order, same km to the last bit
    assert index.query(lat, lon, 12.0, limit=limit) == index.query(lat, lon, 12.0)[:limit]


class _CountingTree:
    """Wraps a cKDTree to count k-nearest searches and ball queries."""

    def __init__(self, tree):
        self.tree, self.knn, self.balls = tree, 0, 0

    def query(self, *args, **kw):
        self.knn += 1
        return self.tree.query(*args, **kw)

    def query_ball_point(self, *args, **kw):
        self.balls += 1
        return self.tree.query_ball_point(*args, **kw)


def _chenzhou_like(rng, n_core=4000, n_rural=300):
    """A dense urban core plus sparse rural providers, radii 0.2–10 km, ids shuffled."""
    lats = np.concatenate([25.79 + rng.normal(0, 0.03, n_core), rng.uniform(24.6, 26.9, n_rural)])
    lons = np.concatenate([113.01 + rng.normal(0, 0.03, n_core), rng.uniform(112.2, 114.2, n_rural)])
    radii = rng.uniform(0.2, 10.0, n_core + n_rural)
    return rng.permutation(n_core + n_rural) + 1, lats, lons, radii


def test_short_list_equals_the_full_prefix_on_seeded_core_rural_and_empty_points():
    rng = np.random.default_rng(7)
    index = ProviderIndex.build(*_chenzhou_like(rng))
    points = ([(25.79 + a, 113.01 + b) for a, b in rng.normal(0, 0.04, (60, 2))]
              + list(zip(rng.uniform(24.6, 26.9, 60), rng.uniform(112.2, 114.2, 60)))
              + [(30.0, 120.0), (25.79, 116.0)])  # hundreds of km from anyone
    sizes = []
    for lat, lon in points:
        full = index.query(lat, lon)
        sizes.append(len(full))
        for limit in (1, 7, 32, 100):
            assert index.query(lat, lon, limit=limit) == full[:limit], (lat, lon, limit)
    assert min(sizes) == 0 and any(0 < s < 32 for s in sizes) and max(sizes) > 500


@pytest.mark.parametrize("far, limit, knn, balls", [
    (0, 32, 3, 1), (0, 3, 4, 1),  # k (16 ->) 64 -> 256 -> 1024 >= 440 providers: the full query
    (2000, 32, 3, 0), (2000, 3, 4, 0),  # ... -> 1024 < 2440: fewer than k within reach, done
])
def test_short_list_widens_then_falls_back_to_the_full_query(far, limit, knn, balls):
    rng = np.random.default_rng(8)
    # 400 providers crowd 100-300 m from the point but reach only 50 m; 40 farther ones reach 10 km;
    # `far` more are 100 km away, beyond every radius.
    lats = np.concatenate([25.8 + rng.uniform(0.001, 0.003, 400), 25.8 + rng.uniform(0.02, 0.05, 40),
                           np.full(far, 26.7)])
    radii = np.concatenate([np.full(400, 0.05), np.full(40, 10.0), np.full(far, 10.0)])
    index = ProviderIndex.build(np.arange(1, 441 + far), lats, np.full(440 + far, 113.0), radii)
    full = index.query(25.8, 113.0)
    assert len(full) == 40 and all(400 < i <= 440 for i, _ in full)
    index._tree = tree = _CountingTree(index._tree)
    assert index.query(25.8, 113.0, limit=limit) == full[:limit]
    assert (tree.knn, tree.balls) == (knn, balls)


def test_short_list_settles_ties_at_shared_positions_like_the_full_query():
    rng = np.random.default_rng(10)
    spots = 25.8 + rng.uniform(-0.01, 0.01, (12, 2))  # 600 providers on 12 spots, mixed radii
    where = spots[rng.integers(0, 12, 600)]
    index = ProviderIndex.build(rng.permutation(600) + 1, where[:, 0], where[:, 1] + 87.2,
                                rng.choice([0.3, 1.0, 5.0], 600))
    for lat, lon in [(25.8, 113.0), tuple(spots[0] + [0.0, 87.2]), (25.81, 112.99)]:
        full = index.query(lat, lon)
        for limit in (1, 5, 32, 49, 50, 51, 200):
            assert index.query(lat, lon, limit=limit) == full[:limit]
        assert all(a[1] < b[1] or (a[1] == b[1] and a[0] < b[0]) for a, b in zip(full, full[1:]))


def test_short_list_stops_at_once_when_the_nearest_cover_the_point():
    rng = np.random.default_rng(9)
    index = ProviderIndex.build(np.arange(1, 2001), 25.8 + rng.normal(0, 0.02, 2000),
                                113.0 + rng.normal(0, 0.02, 2000), np.full(2000, 10.0))
    index._tree = tree = _CountingTree(index._tree)
    assert len(index.query(25.8, 113.0, limit=32)) == 32
    assert (tree.knn, tree.balls) == (1, 0)


def test_nearest_ignores_radii_and_respects_k_and_max_km():
    rng = np.random.default_rng(5)
    lats, lons = 25.79 + rng.normal(0, 0.1, 300), 113.01 + rng.normal(0, 0.1, 300)
    ids = list(range(1, 301))
    index = ProviderIndex.build(ids, lats, lons, np.full(300, 0.1))
    km = great_circle_km_many(25.8, 113.0, lats, lons)
    expected = [ids[i] for i in np.argsort(km) if km[i] <= 4.0][:7]
    assert [i for i, _ in index.nearest(25.8, 113.0, 7, 4.0)] == expected
    assert index.nearest(25.8, 113.0, 0, 4.0) == []
    assert len(index.nearest(25.8, 113.0, 1000, 1000.0)) == 300


def test_empty_index_answers_nothing():
    index = ProviderIndex.build([], [], [], [])
    assert len(index) == 0
    assert index.query(25.8, 113.0) == []
    assert index.query(25.8, 113.0, 10.0, limit=3) == []
    assert index.nearest(25.8, 113.0, 5, 10.0) == []


def test_build_refuses_ragged_arrays():
    with pytest.raises(ValueError):
        ProviderIndex.build([1, 2], [25.0], [113.0], [5.0])


def test_equal_distances_come_out_by_id():
    index = ProviderIndex.build([9, 3, 5], [25.8] * 3, [113.0] * 3, [5.0] * 3)
    assert [i for i, _ in index.query(25.81, 113.0)] == [3, 5, 9]
    assert [i for i, _ in index.query(25.81, 113.0, limit=2)] == [3, 5]


def _entry(pid, services, lat=25.79, lon=113.01, radius=5.0):
    return IndexEntry(pid, frozenset(services), lat, lon, radius)


def test_geo_index_keeps_one_snapshot_per_service():
    index = GeoIndex.build([_entry(1, {ServiceType.MEAL}), _entry(2, {ServiceType.MEAL, ServiceType.BATHING}),
                            _entry(3, {ServiceType.CLEANING}, lat=26.5)])
    assert [i for i, _ in index.candidates(ServiceType.MEAL, 25.79, 113.01)] == [1, 2]
    assert [i for i, _ in index.candidates(ServiceType.BATHING, 25.79, 113.01)] == [2]
    assert index.candidates(ServiceType.CLEANING, 25.79, 113.01) == []  # 79 km away
    assert index.candidates(ServiceType.MEDICAL, 25.79, 113.01) == []
    assert len(index.for_service(None)) == 3 and len(index) == 3
    assert [i for i, _ in index.nearest(None, 26.5, 113.01, 1, 1.0)] == [3]
    assert index.candidates("meal", 25.79, 113.01) == index.candidates(ServiceType.MEAL, 25.79, 113.01)


def test_upsert_and_remove_show_on_next_query():
    index = GeoIndex.build([_entry(1, {ServiceType.MEAL})])
    before = index.for_service(ServiceType.MEAL)
    index.upsert(_entry(2, {ServiceType.MEAL}, lat=25.80))
    index.upsert(_entry(1, {ServiceType.ESCORT}))  # changed services
    assert [i for i, _ in index.candidates(ServiceType.MEAL, 25.79, 113.01)] == [2]
    assert [i for i, _ in index.candidates(ServiceType.ESCORT, 25.79, 113.01)] == [1]
    assert len(before) == 1  # old snapshots are untouched: readers holding them stay consistent
    index.remove(2)
    index.remove(99)  # absent: no error
    assert index.candidates(ServiceType.MEAL, 25.79, 113.01) == []


def test_queries_reuse_the_snapshot_until_something_changes():
    index = GeoIndex.build([_entry(1, {ServiceType.MEAL})])
    first = index.for_service(ServiceType.MEAL)
    assert index.for_service(ServiceType.MEAL) is first
    index.remove(42)
    assert index.for_service(ServiceType.MEAL) is first
    index.upsert(_entry(2, {ServiceType.MEAL}))
    assert index.for_service(ServiceType.MEAL) is not first


def _random_entry(rng, pid):
    services = frozenset(s for s in ServiceType if rng.random() < 0.5) or frozenset({ServiceType.MEAL})
    return IndexEntry(pid, services, 25.7 + rng.random() * 0.2, 112.9 + rng.random() * 0.2,
                      float(rng.uniform(0.5, 6.0)))


def _same_answers(changed: GeoIndex, fresh: GeoIndex, rng) -> None:
    for _ in range(60):
        lat, lon = 25.7 + rng.random() * 0.2, 112.9 + rng.random() * 0.2
        for service in (*ServiceType, None):
            want_full = fresh.for_service(service).query(lat, lon)
            got_full = changed.for_service(service).query(lat, lon)
            assert [i for i, _ in got_full] == [i for i, _ in want_full]
            assert [d for _, d in got_full] == pytest.approx([d for _, d in want_full], abs=1e-9)
            for limit in (1, 5, 32):
                short = changed.for_service(service).query(lat, lon, limit=limit)
                assert short == got_full[:limit]  # still exactly a prefix of the full answer
            want = [i for i, _ in fresh.nearest(service, lat, lon, 7, 3.0)]
            assert [i for i, _ in changed.nearest(service, lat, lon, 7, 3.0)] == want
        assert len(changed.for_service(None)) == len(fresh.for_service(None))


def test_changes_between_rebuilds_answer_as_a_fresh_index():
    rng = np.random.default_rng(11)
    entries = {pid: _random_entry(rng, pid) for pid in range(1, 401)}
    index = GeoIndex.build(entries.values())
    for step in range(60):  # moves, new services or radii, departures and arrivals; fewer than rebuild_after
        kind = step % 4
        pid = int(rng.integers(1, 401)) if kind < 3 else 1000 + step
        if kind == 2:
            entries.pop(pid, None)
            index.remove(pid)
        else:
            entries[pid] = _random_entry(rng, pid)
            index.upsert(entries[pid])
    assert index.trees_built == 1  # all of it answered beside the first trees
    _same_answers(index, GeoIndex.build(entries.values()), rng)


def test_a_new_tree_is_built_only_after_rebuild_after_changes():
    rng = np.random.default_rng(5)
    index = GeoIndex.build(_random_entry(rng, pid) for pid in range(1, 101))
    assert index.trees_built == 1 and index.rebuild_after == 64
    for n in range(64):
        index.upsert(_random_entry(rng, 1 + n % 100))
        index.candidates(ServiceType.MEAL, 25.8, 113.0, limit=5)
    assert index.trees_built == 1
    before = index.for_service(ServiceType.MEAL)
    index.upsert(_random_entry(rng, 500))
    assert len(index.for_service(ServiceType.MEAL)) >= 1 and index.trees_built == 2  # 65 changed: new trees
    assert index.for_service(ServiceType.MEAL) is not before


def test_trees_built_elsewhere_leave_readers_on_the_old_ones_meanwhile():
    rng = np.random.default_rng(8)
    jobs = []
    entries = {pid: _random_entry(rng, pid) for pid in range(1, 101)}
    index = GeoIndex.build(entries.values(), build_elsewhere=lambda build, install: jobs.append((build, install)))
    assert index.trees_built == 1 and not jobs  # the first trees are built at once

    def change(pids):
        for pid in pids:
            entries[pid] = _random_entry(rng, pid)
            index.upsert(entries[pid])

    change(range(1, 66))  # 65 > rebuild_after: new trees are due
    _same_answers(index, GeoIndex.build(entries.values()), rng)
    assert len(jobs) == 1 and index.trees_built == 1  # asked for once; answered beside the old trees
    build, install = jobs.pop()
    trees = build()
    change(range(90, 101))  # while they are built
    install(trees)
    assert index.trees_built == 2
    _same_answers(index, GeoIndex.build(entries.values()), rng)  # the later changes are not lost
    change(range(1, 66))
    index.candidates(ServiceType.MEAL, 25.8, 113.0)
    assert len(jobs) == 1
    jobs.pop()[1](None)  # that build failed: the next reader asks again
    index.candidates(ServiceType.MEAL, 25.8, 113.0)
    assert len(jobs) == 1 and index.trees_built == 2
    _same_answers(index, GeoIndex.build(entries.values()), rng)


def test_a_backlog_of_changes_is_built_by_the_reader():
    rng = np.random.default_rng(9)
    jobs = []
    index = GeoIndex.build([], build_elsewhere=lambda build, install: jobs.append(build))
    for pid in range(1, 301):  # a first load: far more than 4 x rebuild_after
        index.upsert(_random_entry(rng, pid))
    assert len(index.for_service(None)) == 300
    assert index.trees_built == 2 and not jobs


def test_concurrent_writers_and_readers():
    index = GeoIndex.build([])
    errors = []

    def write(start):
        for pid in range(start, start + 200):
            index.upsert(_entry(pid, {ServiceType.MEAL}, lat=25.79 + pid * 1e-5))

    def read():
        try:
            for _ in range(200):
                hits = index.candidates(ServiceType.MEAL, 25.79, 113.01)
                assert len({i for i, _ in hits}) == len(hits)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s,)) for s in (1, 1001)]
    threads += [threading.Thread(target=read) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(index.candidates(ServiceType.MEAL, 25.79, 113.01)) == 400


@settings(max_examples=80)
@given(st.floats(-85.0, 85.0), st.floats(-170.0, 170.0), st.floats(0.1, 500.0), st.floats(0, 2 * math.pi))
def test_bounding_box_holds_the_whole_circle(lat, lon, km, bearing):
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, km)
    # A point at distance km on the given bearing, by the spherical destination formula.
    d, p1, l1 = km / 6371.0088, math.radians(lat), math.radians(lon)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(bearing))
    l2 = l1 + math.atan2(math.sin(bearing) * math.sin(d) * math.cos(p1),
                         math.cos(d) - math.sin(p1) * math.sin(p2))
    plat, plon = math.degrees(p2), math.degrees(l2)
    if -180 <= plon <= 180:  # no wrap-around: documented as out of scope
        assert min_lat - 1e-9 <= plat <= max_lat + 1e-9
        assert min_lon - 1e-9 <= plon <= max_lon + 1e-9


def test_bounding_box_is_tight_and_clamped():
    min_lat, max_lat, min_lon, max_lon = bounding_box(25.8, 113.0, 10.0)
    assert max_lat - 25.8 == pytest.approx(10.0 / 111.195, rel=1e-3)
    assert max_lon - 113.0 == pytest.approx(10.0 / (111.195 * math.cos(math.radians(25.8))), rel=1e-3)
    assert bounding_box(89.95, 10.0, 20.0) == (pytest.approx(89.95 - 20 / 111.195), 90.0, -180.0, 180.0)
    assert bounding_box(0.0, 179.99, 10.0)[3] == 180.0


def test_ties_at_the_limit_cut_are_settled_by_id():
    rng = np.random.default_rng(2)
    ids = rng.permutation(np.arange(1, 61))
    lats = np.where(ids <= 40, 25.8, 25.9)  # 40 providers on one spot, 20 far away
    index = ProviderIndex.build(ids, lats, np.full(60, 113.0), np.full(60, 20.0))
    assert [i for i, _ in index.query(25.81, 113.0, limit=5)] == [1, 2, 3, 4, 5]
    assert [i for i, _ in index.nearest(25.81, 113.0, 3, 5.0)] == [1, 2, 3]
