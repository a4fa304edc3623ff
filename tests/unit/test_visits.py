from datetime import timedelta

import pytest

from dispatch.lifecycle import RequestStatus
from dispatch.visits import address_visible, checkin_distance_flag, coarse_area, is_free, overlaps


def test_overlaps_is_half_open(now):
    h = timedelta(hours=1)
    assert overlaps(now, now + h, now + 30 * timedelta(minutes=1), now + 2 * h)
    assert overlaps(now, now + 2 * h, now + h / 2, now + h)  # one inside the other
    assert not overlaps(now, now + h, now + h, now + 2 * h)  # back to back
    assert not overlaps(now + h, now + 2 * h, now, now + h)
    assert not overlaps(now, now + h, now + 2 * h, now + 3 * h)


def test_is_free(now):
    h = timedelta(hours=1)
    busy = [(now, now + h), (now + 3 * h, now + 4 * h)]
    assert is_free(busy, now + h, now + 3 * h)
    assert not is_free(busy, now + 2 * h, now + 3 * h + timedelta(seconds=1))
    assert is_free([], now, now + h)


@pytest.mark.parametrize(("north_m", "flagged"), [(0, False), (400, False), (600, True), (5000, True)])
def test_checkin_distance_flag(beihu, move, north_m, flagged):
    point = move(*beihu, north_km=north_m / 1000)
    metres, flag = checkin_distance_flag(*beihu, *point)
    assert metres == pytest.approx(north_m, rel=5e-3)  # ellipsoid vs the spherical offset
    assert flag is flagged


def test_checkin_threshold_is_configurable(beihu, move):
    point = move(*beihu, north_km=0.3)
    assert checkin_distance_flag(*beihu, *point, threshold_m=200)[1]


@pytest.mark.parametrize("status", list(RequestStatus))
def test_address_visible_only_during_the_visit(status):
    expected = status in {RequestStatus.ASSIGNED, RequestStatus.EN_ROUTE, RequestStatus.IN_SERVICE}
    assert address_visible(status) is expected
    assert address_visible(status.value) is expected


def test_coarse_area_rounds_to_a_kilometre_grid():
    assert coarse_area(25.79274, 113.01104) == (25.79, 113.01)
    assert coarse_area(25.7961, 113.0149) == (25.8, 113.01)
    lat, lon = coarse_area(25.123456, 113.987654)
    assert abs(lat - 25.123456) <= 0.005 and abs(lon - 113.987654) <= 0.005
