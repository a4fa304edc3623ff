"""Addresses to WGS-84 points behind one geopy interface: offline gazetteer, Nominatim or Baidu."""
from __future__ import annotations

import math
from dataclasses import dataclass

from geopy.exc import GeopyError
from geopy.geocoders import BaiduV3, Nominatim
from geopy.geocoders.base import Geocoder
from geopy.location import Location
from geopy.point import Point

_NOISE = ("湖南省", "郴州市", "中国")


@dataclass(frozen=True)
class Place:
    name: str
    district: str | None
    lat: float
    lon: float


class OfflineGazetteer(Geocoder):
    """A geopy geocoder over known place names: the longest name found in the address wins.

    Needs no network, so the demo and the tests geocode the same way everywhere. A community name
    shared by two districts is settled by the district named in the address; without one it is None.
    """

    def __init__(self, places: list[Place]):
        super().__init__()
        self._places = sorted(places, key=lambda p: -len(p.name))

    def geocode(self, query: str, *, exactly_one: bool = True, timeout=None):
        """Return a geopy Location for the best-matching place in query, or None."""
        text = query
        for noise in _NOISE:
            text = text.replace(noise, "")
        hits = [p for p in self._places if p.name in text]
        if not hits:
            return None

        def score(place: Place) -> int:
            return len(place.name) + (100 if place.district and place.district in text else 0)

        best = max(hits, key=score)
        if any(p.name == best.name and p.district != best.district and score(p) == score(best) for p in hits):
            return None  # the same name in several districts, none of them named: ask, do not guess
        location = Location(f"{best.district or ''}{best.name}", Point(best.lat, best.lon), {"source": "offline"})
        return location if exactly_one else [location]


def make_geocoder(kind: str, options: dict, places: list[Place]) -> Geocoder:
    """The geocoder LINLI_GEOCODER names: offline (default), nominatim or baidu."""
    if kind == "offline":
        return OfflineGazetteer(places)
    if kind == "nominatim":
        return Nominatim(user_agent=options.get("user_agent", "linli-care"),
                         domain=options.get("domain", "nominatim.openstreetmap.org"), timeout=5)
    if kind == "baidu":
        return BaiduV3(api_key=options["ak"], security_key=options.get("sk"), timeout=5)
    raise ValueError(f"unknown LINLI_GEOCODER {kind!r}: offline, nominatim or baidu")


def locate(geocoder: Geocoder, address: str) -> tuple[float, float] | None:
    """WGS-84 (lat, lon) for address, or None when it cannot be found or the service fails."""
    try:
        location = geocoder.geocode(address, exactly_one=True)
    except GeopyError:
        return None
    if location is None:
        return None
    if isinstance(geocoder, BaiduV3):
        return bd09_to_wgs84(location.latitude, location.longitude)
    return location.latitude, location.longitude


# Baidu answers in BD-09; the platform stores WGS-84. The usual published approximations
# (BD-09 → GCJ-02 → WGS-84), good to a few metres inside China.
_A, _EE = 6378245.0, 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0


def bd09_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """Convert a BD-09 point to WGS-84."""
    x, y = lon - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    g_lon, g_lat = z * math.cos(theta), z * math.sin(theta)
    d_lat, d_lon = _gcj_offset(g_lat, g_lon)
    return g_lat - d_lat, g_lon - d_lon


def _gcj_offset(lat: float, lon: float) -> tuple[float, float]:
    x, y = lon - 105.0, lat - 35.0
    t_lat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
             + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
             + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
             + (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0)
    t_lon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
             + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
             + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
             + (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (t_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (t_lon * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return d_lat, d_lon
