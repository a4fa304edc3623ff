"""Spatial index of providers: cKDTree on unit-sphere x,y,z, one snapshot per service type."""
from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from geopy.distance import geodesic
from scipy.spatial import cKDTree

from dispatch.catalog import ServiceType

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius, as geopy's great_circle uses


# --- distances -------------------------------------------------------------------------------

def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in km between two points on the mean-radius sphere."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


def great_circle_km_many(lat: float, lon: float, lats, lons) -> np.ndarray:
    """Vectorised haversine: km from one point to each of the points in lats, lons."""
    p1 = np.radians(lat)
    p2 = np.radians(np.asarray(lats, dtype=float))
    dl = np.radians(np.asarray(lons, dtype=float) - lon)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(1.0, h)))


def geodesic_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """WGS-84 ellipsoidal distance in km (geopy); slow, so only for the short list: display, ETA."""
    return geodesic((lat1, lon1), (lat2, lon2)).km


def chord_for_km(km):
    """Straight-line distance through the unit sphere for a great-circle distance in km."""
    angle = np.minimum(np.asarray(km, dtype=float) / EARTH_RADIUS_KM, math.pi)
    return 2.0 * np.sin(angle / 2.0)


def km_for_chord(chord):
    """Great-circle km for a unit-sphere chord length (the inverse of chord_for_km)."""
    half = np.clip(np.asarray(chord, dtype=float) / 2.0, 0.0, 1.0)
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(half)


def unit_xyz(lats, lons) -> np.ndarray:
    """Unit-sphere x,y,z rows for arrays of latitudes and longitudes in degrees."""
    phi = np.radians(np.asarray(lats, dtype=float))
    lam = np.radians(np.asarray(lons, dtype=float))
    cos_phi = np.cos(phi)
    return np.column_stack((cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)))


# Every distance the index reports is the tree's own, so the short list and the full query rank
# with the very same numbers. The relative slack only guards the kd-tree's pruning against
# rounding at a cut: far above float error (~1e-16), far below any distance that matters.
_SLACK = 1e-12
_FIRST_K_PER_ANSWER = 2  # the nearest 2N hold N covering providers for ~99% of Chenzhou queries
_MIN_FIRST_K = 16


def _point_xyz(lat: float, lon: float) -> tuple[float, float, float]:
    # math on scalars is several times faster than numpy for a single point: this is the hot path.
    phi, lam = math.radians(lat), math.radians(lon)
    c = math.cos(phi)
    return (c * math.cos(lam), c * math.sin(lam), math.sin(phi))


def bounding_box(lat: float, lon: float, km: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) enclosing every point within km, for a SQL prefilter.

    Exact on the sphere away from the edges: the longitude half-width is asin(sin r / cos lat),
    which is slightly wider than r / cos lat. Latitudes are clamped to ±90; when the circle
    reaches a pole the box spans all longitudes. Longitudes are clamped to ±180, not wrapped,
    so a circle crossing the antimeridian loses its far side (not a concern in China).
    """
    r = km / EARTH_RADIUS_KM
    dlat = math.degrees(r)
    min_lat, max_lat = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    cos_lat = math.cos(math.radians(lat))
    if min_lat <= -90.0 or max_lat >= 90.0 or math.sin(r) >= cos_lat:
        return min_lat, max_lat, -180.0, 180.0
    dlon = math.degrees(math.asin(math.sin(r) / cos_lat))
    return min_lat, max_lat, max(-180.0, lon - dlon), min(180.0, lon + dlon)


# --- one snapshot ----------------------------------------------------------------------------

class ProviderIndex:
    """An immutable cKDTree snapshot of providers' base positions and service radii.

    A snapshot may carry changes made since its tree was built (see with_changes): providers
    masked out of the tree, and a few new positions searched exhaustively beside it.
    """

    __slots__ = ("_ids", "_reach", "_bound", "_tree", "_order", "_by_id", "_dead", "_extra")

    def __init__(self, ids: np.ndarray, xyz: np.ndarray, radii_km: np.ndarray):
        self._ids = ids
        # Radii compared as chords, so the filter needs no trigonometry per hit. One extra slot
        # that covers nothing answers the tree's "no neighbour" index, len(ids).
        self._reach = np.append(chord_for_km(radii_km), -np.inf)
        self._bound = _bound(float(self._reach[:-1].max())) if len(ids) else 0.0
        self._tree = cKDTree(xyz) if len(ids) else None
        self._order = np.argsort(ids, kind="stable")  # tree slots by provider id (for with_changes)
        self._by_id = ids[self._order]
        for a in (self._ids, self._reach, self._order, self._by_id):
            a.setflags(write=False)
        self._dead: np.ndarray | None = None  # per tree slot (+1): changed since the tree was built
        self._extra: _Extra | None = None

    @classmethod
    def build(cls, ids: Sequence[int], lats: Sequence[float], lons: Sequence[float],
              radii_km: Sequence[float]) -> ProviderIndex:
        """Build a snapshot from parallel arrays of provider ids, base lat/lon and radius in km."""
        ids_a = np.asarray(ids, dtype=np.int64).reshape(-1)
        radii = np.asarray(radii_km, dtype=float).reshape(-1)
        lats_a = np.asarray(lats, dtype=float).reshape(-1)
        lons_a = np.asarray(lons, dtype=float).reshape(-1)
        if not len(ids_a) == len(radii) == len(lats_a) == len(lons_a):
            raise ValueError("ids, lats, lons and radii_km must have the same length")
        return cls(ids_a, unit_xyz(lats_a, lons_a).reshape(-1, 3), radii)

    def with_changes(self, stale_ids: Iterable[int], current: Sequence[IndexEntry]) -> ProviderIndex:
        """This tree without the providers in stale_ids, plus the entries in current searched
        exhaustively beside it: what a change costs instead of a new tree (see GeoIndex)."""
        view = object.__new__(ProviderIndex)
        for name in ProviderIndex.__slots__:
            setattr(view, name, getattr(self, name))
        stale = np.fromiter(stale_ids, dtype=np.int64)
        view._dead = None
        if len(stale) and len(self._ids):
            at = np.minimum(np.searchsorted(self._by_id, stale), len(self._ids) - 1)
            slots = self._order[at[self._by_id[at] == stale]]
            if len(slots):
                view._dead = np.zeros(len(self._ids) + 1, dtype=bool)
                view._dead[slots] = True
        view._extra = _Extra.of(current) if current else None
        return view

    def __len__(self) -> int:
        dead = int(np.count_nonzero(self._dead)) if self._dead is not None else 0
        return len(self._ids) - dead + (len(self._extra.ids) if self._extra else 0)

    def query_arrays(self, lat: float, lon: float, radius_km: float | None = None, *,
                     limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, km) arrays nearest first; see query."""
        if limit is not None and limit <= 0:
            return np.empty(0, np.int64), np.empty(0)
        q = _point_xyz(lat, lon)
        chord, ids = self._from_tree(q, radius_km, limit)
        if self._extra is not None:
            more_chord, more_ids = self._extra.covering(q, radius_km)
            if len(more_ids):
                chord, ids = np.concatenate((chord, more_chord)), np.concatenate((ids, more_ids))
                order = np.lexsort((ids, chord))[:limit]
                chord, ids = chord[order], ids[order]
        return ids, (2.0 * EARTH_RADIUS_KM) * np.arcsin(np.minimum(chord * 0.5, 1.0))

    def _from_tree(self, q: tuple[float, float, float], radius_km: float | None,
                   limit: int | None) -> tuple[np.ndarray, np.ndarray]:
        # (chords, ids) nearest first, ties by id, of the tree's live providers.
        if self._tree is None:
            return np.empty(0), np.empty(0, np.int64)
        own = radius_km is None
        reach = self._reach if own else float(chord_for_km(radius_km))
        bound = self._bound if own else _bound(reach)
        if limit is None:
            chord, idx = self._everything(q, reach, bound)
        else:
            first_k = _FIRST_K_PER_ANSWER * limit if own else limit + 1
            chord, idx = self._short_list(q, reach, bound, limit, max(first_k, _MIN_FIRST_K))
        if len(chord) > 1 and np.count_nonzero(chord[1:] == chord[:-1]):
            # Rare exact ties: order them by id so results never depend on the tree's layout.
            order = np.lexsort((self._ids[idx], chord))
            chord, idx = chord[order], idx[order]
        return chord[:limit], self._ids[idx[:limit]]

    def _knn(self, q: tuple[float, float, float], reach, bound: float,
             k: int) -> tuple[np.ndarray, np.ndarray, float]:
        # The k nearest within bound, nearest first, less those out of reach (an array: each
        # provider's own radius; a float: one radius for all) or changed since the tree was
        # built, and the k-th distance (inf: fewer).
        chord, idx = self._tree.query(q, k=max(k, 2), distance_upper_bound=bound)
        keep = chord <= (reach[idx] if isinstance(reach, np.ndarray) else reach)
        if self._dead is not None:
            keep &= ~self._dead[idx]
        return chord[keep], idx[keep], chord[-1]

    def _short_list(self, q: tuple[float, float, float], reach, bound: float, limit: int,
                    k: int) -> tuple[np.ndarray, np.ndarray]:
        # The nearest providers usually cover the point, so ask for a few more than limit and
        # widen only when too many of them have a smaller radius than their distance.
        while k < len(self._ids):
            chord, idx, kth = self._knn(q, reach, bound, k)
            # Done when everything within bound is in hand, or when the limit-th answer is
            # clearly nearer than anything not fetched, so ties at the cut are all in hand.
            if kth == math.inf or (len(chord) >= limit and chord[limit - 1] < kth * (1.0 - _SLACK)):
                return chord, idx
            k *= 4
        return self._everything(q, reach, bound)

    def _everything(self, q: tuple[float, float, float], reach,
                    bound: float) -> tuple[np.ndarray, np.ndarray]:
        # Count the ball, then fetch it with distances from the same k-nearest search the short
        # list uses, so a short list is always a prefix of this answer, to the last bit.
        k = int(self._tree.query_ball_point(q, bound, return_length=True)) + 1
        while True:  # the ball's count and the k-nearest bound may round apart at the very edge
            chord, idx, kth = self._knn(q, reach, bound, k)
            if kth == math.inf or k >= len(self._ids):
                return chord, idx
            k *= 2

    def query(self, lat: float, lon: float, radius_km: float | None = None, *,
              limit: int | None = None) -> list[tuple[int, float]]:
        """(provider_id, great-circle km) nearest first of providers whose own radius covers the point
        (radius_km: of all within it); limit=N gives the short list dispatch uses, exactly the first N
        of the full answer but fast, while the full query (no limit) is for callers needing every one."""
        ids, km = self.query_arrays(lat, lon, radius_km, limit=limit)
        return list(zip(ids.tolist(), km.tolist()))

    def nearest(self, lat: float, lon: float, k: int, max_km: float) -> list[tuple[int, float]]:
        """Up to k (provider_id, km) nearest first within max_km, ignoring service radii."""
        return self.query(lat, lon, max_km, limit=k)


def _bound(reach: float) -> float:
    # The tree's distance_upper_bound is strict; a hair above reach keeps everything at reach.
    return math.nextafter(reach * (1.0 + _SLACK), math.inf)


class _Extra:
    """Providers placed since a tree was built, searched exhaustively beside it (a few hundred at
    most: GeoIndex builds a new tree before there are more)."""

    __slots__ = ("ids", "xyz", "reach")

    def __init__(self, ids: np.ndarray, xyz: np.ndarray, reach: np.ndarray):
        self.ids, self.xyz, self.reach = ids, xyz, reach

    @classmethod
    def of(cls, entries: Sequence[IndexEntry]) -> _Extra:
        return cls(np.array([e.provider_id for e in entries], dtype=np.int64),
                   unit_xyz([e.lat for e in entries], [e.lon for e in entries]).reshape(-1, 3),
                   chord_for_km([e.radius_km for e in entries]))

    def covering(self, q: tuple[float, float, float], radius_km: float | None) -> tuple[np.ndarray, np.ndarray]:
        """(chords, ids), in no order, of those covering q (radius_km: of those within it)."""
        d = self.xyz - q
        chord = np.sqrt(np.einsum("ij,ij->i", d, d))
        keep = chord <= (self.reach if radius_km is None else float(chord_for_km(radius_km)))
        return chord[keep], self.ids[keep]


# --- the live index ---------------------------------------------------------------------------

@dataclass(frozen=True)
class IndexEntry:
    provider_id: int
    services: frozenset[ServiceType]
    lat: float
    lon: float
    radius_km: float


_SERVICE_BIT = {st: 1 << k for k, st in enumerate(ServiceType)}


def _offers(service_type: ServiceType | None, entry: IndexEntry) -> bool:
    return service_type is None or service_type in entry.services


def _snapshots(entries: Iterable[IndexEntry]) -> dict[ServiceType | None, ProviderIndex]:
    # One pass over the entries into arrays, then each service type's tree from a mask of them:
    # building per type from lists of entries cost three times as much at 50k providers.
    everyone = sorted(entries, key=lambda e: e.provider_id)  # ids ascending: each tree orders them cheaply
    n = len(everyone)
    ids = np.fromiter((e.provider_id for e in everyone), np.int64, n)
    radii = np.fromiter((e.radius_km for e in everyone), float, n)
    xyz = unit_xyz(np.fromiter((e.lat for e in everyone), float, n),
                   np.fromiter((e.lon for e in everyone), float, n)).reshape(-1, 3)
    bits_of: dict[frozenset, int] = {}  # few distinct sets of services: their bits are worked out once each
    for e in everyone:
        if e.services not in bits_of:
            bits_of[e.services] = sum(_SERVICE_BIT[s] for s in e.services)
    bits = np.fromiter((bits_of[e.services] for e in everyone), np.int64, n)
    out = {None: ProviderIndex(ids, xyz, radii)}
    for st, bit in _SERVICE_BIT.items():
        offered = (bits & bit) != 0
        out[st] = ProviderIndex(ids[offered], xyz[offered], radii[offered])
    return out


@dataclass(frozen=True)
class _State:
    """What readers of one version of a GeoIndex share."""

    version: int
    trees: dict[ServiceType | None, ProviderIndex]
    changed: dict[int, IndexEntry | None]  # since the trees were built: current entry, or None if gone
    views: dict[ServiceType | None, ProviderIndex]  # the trees with the changes, per type as needed


class GeoIndex:
    """Live, thread-safe index: one ProviderIndex per service type (and None for any service).

    Writers change a dict under a lock. Readers see trees built from an earlier state, with the
    providers changed since then masked out of them and searched exhaustively beside them, until
    so many have changed that new trees are due (one build at a time). A position update thus costs
    the next reader a view of the changes (a fraction of a millisecond), and new trees (~80 ms at
    50k providers; see bench/) are built once every `rebuild_after` changes, not on every one.

    build_elsewhere(build, install), when given, runs build() away from the readers and passes its
    result (None if it failed) to install(); readers go on with the old trees meanwhile. Without
    it, and for the first trees or a backlog of changes, the reader who finds them due builds them.
    """

    def __init__(self, entries: Iterable[IndexEntry] = (), *, build_elsewhere=None):
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()
        self._entries: dict[int, IndexEntry] = {e.provider_id: e for e in entries}
        self._version = 0
        self._trees: dict[ServiceType | None, ProviderIndex] | None = None
        self._changed: set[int] = set()  # providers added, moved or dropped since the trees were built
        self._since: set[int] | None = None  # while trees are built elsewhere: changes after their entries
        self._build_elsewhere = build_elsewhere
        self._state: _State | None = None
        self.trees_built = 0

    @classmethod
    def build(cls, entries: Iterable[IndexEntry], *, build_elsewhere=None) -> GeoIndex:
        """Build an index from entries (eligible providers' base positions) and its trees now."""
        index = cls(entries, build_elsewhere=build_elsewhere)
        index._current()
        return index

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def rebuild_after(self) -> int:
        """How many changed providers the trees may lag by before new ones are built."""
        return max(64, len(self._entries) // 64)

    def upsert(self, entry: IndexEntry) -> None:
        """Add or replace a provider; the next query sees it."""
        with self._lock:
            self._entries[entry.provider_id] = entry
            self._changed_now(entry.provider_id)

    def remove(self, provider_id: int) -> None:
        """Drop a provider (suspended, blacklisted, deleted); a no-op when absent."""
        with self._lock:
            if self._entries.pop(provider_id, None) is not None:
                self._changed_now(provider_id)

    def _changed_now(self, provider_id: int) -> None:
        self._changed.add(provider_id)
        if self._since is not None:
            self._since.add(provider_id)
        self._version += 1

    def _current(self) -> _State:
        state = self._state
        if state is not None and state.version == self._version:
            return state
        with self._build_lock:  # one builder at a time; the others wait and reuse its result
            with self._lock:
                version, here, elsewhere, entries = self._version, False, False, []
                due = self._trees is None or len(self._changed) > self.rebuild_after
                if due and self._since is None:  # (while trees are built elsewhere, wait for them)
                    # A backlog of changes (the first load) is built here: the exhaustive search
                    # beside the trees would cost more than the build.
                    elsewhere = self._build_elsewhere is not None and self._trees is not None \
                        and len(self._changed) <= 4 * self.rebuild_after
                    here = not elsewhere
                    entries = list(self._entries.values())
                    if elsewhere:
                        self._since = set()
                    else:
                        self._changed = set()
                changed = {pid: self._entries.get(pid) for pid in self._changed}
                trees = self._trees
            if elsewhere:
                self._build_elsewhere(lambda: _snapshots(entries), self._install)
            state = self._state
            if state is not None and state.version == version:
                return state
            if here:
                trees = self._trees = _snapshots(entries)
                self.trees_built += 1
            state = _State(version, trees, changed, {})
            self._state = state
            return state

    def _install(self, trees: dict[ServiceType | None, ProviderIndex] | None) -> None:
        """Put trees built elsewhere in place; None: their build failed, the next reader tries again."""
        with self._lock:
            if trees is not None:
                self._trees, self._changed = trees, self._since
                self.trees_built += 1
            self._since = None
            self._version += 1

    def for_service(self, service_type: ServiceType | None) -> ProviderIndex:
        """The current snapshot for a service type (None: providers of any service)."""
        # StrEnum members hash like their values, so a plain "meal" finds the same snapshot.
        state = self._current()
        view = state.views.get(service_type)
        if view is None:  # built once per change and service type, by whichever reader needs it
            tree = state.trees[service_type]
            view = tree if not state.changed else tree.with_changes(
                state.changed, [e for e in state.changed.values() if e is not None and _offers(service_type, e)])
            state.views[service_type] = view
        return view

    def candidates(self, service_type: ServiceType, lat: float, lon: float, *,
                   limit: int | None = None) -> list[tuple[int, float]]:
        """(provider_id, km) nearest first of providers of this type whose radius covers the point;
        limit=N: the short list of the nearest N (fast; see ProviderIndex.query), else all of them."""
        return self.for_service(service_type).query(lat, lon, limit=limit)

    def nearest(self, service_type: ServiceType | None, lat: float, lon: float, k: int,
                max_km: float) -> list[tuple[int, float]]:
        """Up to k (provider_id, km) nearest first within max_km, of a type or of any (None)."""
        return self.for_service(service_type).nearest(lat, lon, k, max_km)
