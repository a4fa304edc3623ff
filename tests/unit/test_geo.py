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


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(lat_s, lon_s, st.floats(0.5, 30.0)), min_size=1, max_size=80),
       lat_s, lon_s, st.integers(1, 10))
def test_limit_is_a_prefix_of_the_full_answer(rows, lat, lon, limit):
    ids = list(range(1, len(rows) + 1))
    index = ProviderIndex.build(ids, *([r[k] for r in rows] for k in range(3)))
    full, short = index.query(lat, lon), index.query(lat, lon, limit=limit)
    assert [i for i, _ in short] == [i for i, _ in full[:limit]]


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
