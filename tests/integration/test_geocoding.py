"""The offline gazetteer and the BD-09 → WGS-84 conversion (server.geocoding, pure functions)."""
from __future__ import annotations

import math

import pytest
from geopy.exc import GeocoderUnavailable
from geopy.geocoders import BaiduV3

from dispatch.geo import great_circle_km
from server.geocoding import OfflineGazetteer, Place, bd09_to_wgs84, locate, make_geocoder

PLACES = [
    Place("北湖区", None, 25.7927, 113.0110),
    Place("苏仙区", None, 25.7970, 113.0420),
    Place("桔井社区", "北湖区", 25.79511, 113.00788),
    Place("桔井社区", "苏仙区", 25.80100, 113.06561),
    Place("五岭社区", "北湖区", 25.81446, 113.02408),
    Place("五岭", "北湖区", 25.70000, 113.10000),
    Place("油市镇", "资兴市", 26.08554, 113.42373),
]


@pytest.fixture
def gazetteer():
    return OfflineGazetteer(PLACES)


def point(location) -> tuple[float, float]:
    return location.latitude, location.longitude


def test_the_longest_name_in_the_address_wins(gazetteer):
    assert point(gazetteer.geocode("郴州市北湖区五岭社区3栋")) == (25.81446, 113.02408)


def test_the_district_named_in_the_address_settles_a_shared_name(gazetteer):
    assert point(gazetteer.geocode("湖南省郴州市苏仙区桔井社区7栋")) == (25.80100, 113.06561)
    assert point(gazetteer.geocode("郴州市北湖区桔井社区7栋")) == (25.79511, 113.00788)


@pytest.mark.parametrize("address", ["郴州市桔井社区7栋", "桔井社区", "资兴市桔井社区"])
def test_a_shared_name_without_its_district_is_none(gazetteer, address):
    assert gazetteer.geocode(address) is None
    assert locate(gazetteer, address) is None


def test_a_unique_community_name_alone_is_found(gazetteer):
    assert point(gazetteer.geocode("郴州市五岭社区3栋")) == (25.81446, 113.02408)


def test_a_district_alone_gives_its_seat(gazetteer):
    assert point(gazetteer.geocode("郴州市苏仙区某某路12号")) == (25.7970, 113.0420)


def test_a_rural_town(gazetteer):
    location = gazetteer.geocode("资兴市油市镇3组")
    assert point(location) == (26.08554, 113.42373)
    assert location.raw == {"source": "offline"}


@pytest.mark.parametrize("address", ["北京市朝阳区建国路", "", "郴州市", "湖南省郴州市中国"])
def test_no_known_place_is_none(gazetteer, address):
    assert gazetteer.geocode(address) is None
    assert locate(gazetteer, address) is None


def test_exactly_one_false_gives_a_list(gazetteer):
    found = gazetteer.geocode("郴州市北湖区五岭社区", exactly_one=False)
    assert isinstance(found, list) and len(found) == 1


def test_locate_returns_lat_lon(gazetteer):
    assert locate(gazetteer, "北湖区五岭社区") == (25.81446, 113.02408)


# The forward transforms, written out independently of server.geocoding: WGS-84 → GCJ-02 is the
# published definition, GCJ-02 → BD-09 Baidu's. The module only has (approximate) inverses.
_A, _EE, _X_PI = 6378245.0, 0.00669342162296594323, math.pi * 3000.0 / 180.0


def _wgs84_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    x, y = lon - 105.0, lat - 35.0
    d_lat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
             + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
             + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
             + (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0)
    d_lon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
             + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
             + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
             + (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0)
    rad = math.radians(lat)
    magic = 1 - _EE * math.sin(rad) ** 2
    g_lat = lat + d_lat * 180.0 / ((_A * (1 - _EE)) / (magic * math.sqrt(magic)) * math.pi)
    g_lon = lon + d_lon * 180.0 / (_A / math.sqrt(magic) * math.cos(rad) * math.pi)
    z = math.hypot(g_lon, g_lat) + 0.00002 * math.sin(g_lat * _X_PI)
    theta = math.atan2(g_lat, g_lon) + 0.000003 * math.cos(g_lon * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def test_bd09_to_wgs84_on_a_known_point():
    # Tiananmen: BD-09 (39.915, 116.404) is about WGS-84 (39.9071, 116.3912) — a published value to
    # 4 decimals from another implementation, so the tolerance is a few tens of metres; the
    # round trip below holds the conversion to metres.
    lat, lon = bd09_to_wgs84(39.915, 116.404)
    assert great_circle_km(lat, lon, 39.9071, 116.3912) < 0.025


@pytest.mark.parametrize("bd", [(39.915, 116.404), (25.7990, 113.0225), (26.7093, 113.2697), (22.54, 114.06)])
def test_bd09_to_wgs84_inverts_the_forward_transform_to_within_10_m(bd):
    back = _wgs84_to_bd09(*bd09_to_wgs84(*bd))
    assert great_circle_km(*back, *bd) < 0.010


def test_bd09_to_wgs84_in_chenzhou_moves_a_few_hundred_metres_south_west():
    lat, lon = bd09_to_wgs84(25.7990, 113.0225)
    moved = great_circle_km(lat, lon, 25.7990, 113.0225)
    assert 0.5 < moved < 1.5 and lat < 25.7990 and lon < 113.0225


def test_make_geocoder_by_name():
    assert isinstance(make_geocoder("offline", {}, PLACES), OfflineGazetteer)
    assert isinstance(make_geocoder("baidu", {"ak": "test-key"}, []), BaiduV3)
    with pytest.raises(ValueError):
        make_geocoder("google", {}, [])


def test_locate_converts_baidu_answers_and_survives_a_service_failure(monkeypatch):
    baidu = make_geocoder("baidu", {"ak": "test-key"}, [])

    class Answer:
        latitude, longitude = 39.915, 116.404

    monkeypatch.setattr(baidu, "geocode", lambda *a, **k: Answer())
    assert locate(baidu, "北京天安门") == bd09_to_wgs84(39.915, 116.404)

    def down(*a, **k):
        raise GeocoderUnavailable("no network")

    monkeypatch.setattr(baidu, "geocode", down)
    assert locate(baidu, "北京天安门") is None
