"""The geometry behind dispatch.coverage: exact "is anyone covering this point" queries against one
service type's providers (a lifted 4-D tree), and a raster counting the providers that cover each
whole cell."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.spatial import cKDTree

from dispatch.geo import EARTH_RADIUS_KM, IndexEntry, bounding_box, chord_for_km, unit_xyz

NONE = -1  # no provider covers the point
_EDGE = 1e-9  # relative slack on the lifted bound; the exact chord decides
KM_PER_DEG = EARTH_RADIUS_KM * math.pi / 180.0


class Lifted:
    """One service type's providers as a 4-D tree (built from a snapshot), with the providers that
    changed since masked out of it and their current entries searched exhaustively beside it."""

    def __init__(self, entries: Sequence[IndexEntry]):
        n = len(entries)
        self.ids = np.fromiter((e.provider_id for e in entries), np.int64, n)
        self.xyz = unit_xyz([e.lat for e in entries], [e.lon for e in entries]).reshape(-1, 3)
        self.reach = chord_for_km(np.fromiter((e.radius_km for e in entries), float, n))
        self.slot = {int(pid): k for k, pid in enumerate(self.ids.tolist())}
        self.dead = np.zeros(n + 1, dtype=bool)  # +1: the tree's "no neighbour" index
        self.extra: dict[int, tuple[np.ndarray, float]] = {}
        self.tree, self.bound = None, 0.0
        if n:
            inv_t = 1.0 / (1.0 - self.reach ** 2 / 2.0)
            q = self.xyz * inv_t[:, None]
            r2 = float((inv_t ** 2).max())
            h = np.sqrt(np.maximum(r2 - inv_t ** 2, 0.0))
            self.tree = cKDTree(np.column_stack((q, h)))
            self.bound = math.sqrt(max(r2 - 1.0, 0.0)) * (1.0 + _EDGE) + 1e-15

    @property
    def changes(self) -> int:
        return int(self.dead.sum()) + len(self.extra)

    def drop(self, pid: int) -> None:
        k = self.slot.get(pid)
        if k is not None:
            self.dead[k] = True
        self.extra.pop(pid, None)

    def put(self, e: IndexEntry) -> None:
        self.drop(e.provider_id)
        self.extra[e.provider_id] = (unit_xyz([e.lat], [e.lon]).reshape(3), float(chord_for_km(e.radius_km)))

    def witnesses(self, pts: np.ndarray, *, workers: int = 1) -> np.ndarray:
        """A covering provider id for each unit-sphere point (NONE where none covers it)."""
        out = np.full(len(pts), NONE, dtype=np.int64)
        if self.tree is not None and len(pts):
            self._from_tree(pts, out, workers)
        if self.extra:
            self._from_extra(pts, out)
        return out

    def _from_tree(self, pts: np.ndarray, out: np.ndarray, workers: int) -> None:
        q4 = np.column_stack((pts, np.zeros(len(pts))))
        todo, k, n = np.arange(len(pts)), 1, len(self.ids)
        while len(todo):
            d, idx = self.tree.query(q4[todo], k=k, distance_upper_bound=self.bound, workers=workers)
            d, idx = d.reshape(len(todo), k), idx.reshape(len(todo), k)
            live = ~self.dead[idx] & (idx < n)
            first = np.where(live.any(axis=1), live.argmax(axis=1), -1)
            got = first >= 0
            rows, slots = todo[got], idx[got, first[got]]
            diff = pts[rows] - self.xyz[slots]
            ok = np.einsum("ij,ij->i", diff, diff) <= self.reach[slots] ** 2
            out[rows[ok]] = self.ids[slots[ok]]
            # Unresolved: every neighbour fetched was dead and the last was still within the bound.
            todo = todo[~got & np.isfinite(d[:, -1])]
            if k >= n:
                break
            k = min(n, k * 8)

    def _from_extra(self, pts: np.ndarray, out: np.ndarray) -> None:
        ids = np.fromiter(self.extra, np.int64, len(self.extra))
        xyz = np.array([v[0] for v in self.extra.values()]).reshape(-1, 3)
        reach = np.array([v[1] for v in self.extra.values()])
        todo = np.flatnonzero(out == NONE)
        for start in range(0, len(todo), 4096):
            rows = todo[start:start + 4096]
            d2 = ((pts[rows, None, :] - xyz[None, :, :]) ** 2).sum(axis=2)
            hit = d2 <= reach[None, :] ** 2
            any_hit = hit.any(axis=1)
            out[rows[any_hit]] = ids[hit[any_hit].argmax(axis=1)]


class CellRaster:
    """A lat/lon raster over the seniors' extent (~500 m cells). A provider covers a whole cell when
    the cell's centre lies within its radius less the cell's half-diagonal (triangle inequality), so
    the seniors of a cell with a positive count are covered without looking at them one by one."""

    def __init__(self, lats: np.ndarray, lons: np.ndarray, cell_deg: float = 0.005, max_cells: int = 4_000_000):
        if len(lats):
            south, north = float(np.min(lats)) - 0.1, float(np.max(lats)) + 0.1
            west, east = float(np.min(lons)) - 0.1, float(np.max(lons)) + 0.1
        else:
            south, north, west, east = 0.0, cell_deg, 0.0, cell_deg
        south, north = max(south, -89.0), min(north, 89.0)
        cell_deg = max(cell_deg, math.sqrt((north - south) * (east - west) / max_cells))
        self.cell, self.lat0, self.lon0 = cell_deg, south, west
        self.rows = max(1, math.ceil((north - south) / cell_deg))
        self.cols = max(1, math.ceil((east - west) / cell_deg))
        widest = 1.0 if south <= 0.0 <= north else math.cos(math.radians(min(abs(south), abs(north))))
        self.half_diagonal_km = 1.001 * (cell_deg / 2) * KM_PER_DEG * math.sqrt(1.0 + widest ** 2)

    @property
    def size(self) -> int:
        return self.rows * self.cols

    def cells(self, lats, lons) -> np.ndarray:
        """Flat cell index of each point; NONE outside the raster."""
        r = np.floor((np.asarray(lats, dtype=float) - self.lat0) / self.cell).astype(np.int64)
        c = np.floor((np.asarray(lons, dtype=float) - self.lon0) / self.cell).astype(np.int64)
        inside = (r >= 0) & (r < self.rows) & (c >= 0) & (c < self.cols)
        return np.where(inside, r * self.cols + c, NONE)

    def box(self, lat: float, lon: float, km: float) -> np.ndarray:
        """Flat indices (ascending) of the cells that may hold points within km of the point."""
        south, north, west, east = bounding_box(lat, lon, km * (1 + 1e-6) + 1e-6)
        r0, r1 = max(int((south - self.lat0) // self.cell), 0), min(int((north - self.lat0) // self.cell), self.rows - 1)
        c0, c1 = max(int((west - self.lon0) // self.cell), 0), min(int((east - self.lon0) // self.cell), self.cols - 1)
        if r0 > r1 or c0 > c1:
            return np.empty(0, np.int64)
        return (np.arange(r0, r1 + 1)[:, None] * self.cols + np.arange(c0, c1 + 1)[None, :]).ravel()

    def full_spans(self, lats, lons, radii_km) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(disk, row, first col, last col) of the cells each disk covers whole, one span per row;
        disk is the index of the disk in the arrays given."""
        lat = np.asarray(lats, dtype=float).reshape(-1)
        lon = np.asarray(lons, dtype=float).reshape(-1)
        inner = np.asarray(radii_km, dtype=float).reshape(-1) - self.half_diagonal_km - 1e-9
        keep = np.flatnonzero(inner > 0)
        lat, lon, inner = lat[keep], lon[keep], inner[keep]
        dlat = np.degrees(inner / EARTH_RADIUS_KM)
        r_lo = np.maximum(np.ceil((lat - dlat - self.lat0) / self.cell - 0.5), 0).astype(np.int64)
        r_hi = np.minimum(np.floor((lat + dlat - self.lat0) / self.cell - 0.5), self.rows - 1).astype(np.int64)
        n = np.maximum(r_hi - r_lo + 1, 0)
        who = np.repeat(np.arange(len(lat)), n)
        row = r_lo[who] + np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        phi = np.radians(self.lat0 + (row + 0.5) * self.cell)
        phi_p = np.radians(lat[who])
        hav_r = np.sin(inner[who] / (2 * EARTH_RADIUS_KM)) ** 2
        x = (hav_r - np.sin((phi - phi_p) / 2) ** 2) / (np.cos(phi) * np.cos(phi_p))
        dlon = np.degrees(2 * np.arcsin(np.sqrt(np.clip(x, 0.0, 1.0))))
        c0 = np.maximum(np.ceil((lon[who] - dlon - self.lon0) / self.cell - 0.5), 0).astype(np.int64)
        c1 = np.minimum(np.floor((lon[who] + dlon - self.lon0) / self.cell - 0.5), self.cols - 1).astype(np.int64)
        ok = (x >= 0) & (c0 <= c1)
        return keep[who[ok]], row[ok], c0[ok], c1[ok]

    def counts(self, lats, lons, radii_km) -> np.ndarray:
        """Per flat cell: how many of the disks cover it whole."""
        return self.counts_of_spans(*self.full_spans(lats, lons, radii_km)[1:])

    def counts_of_spans(self, row: np.ndarray, c0: np.ndarray, c1: np.ndarray) -> np.ndarray:
        """Per flat cell: how many of the spans hold it (a difference array per row, summed along it)."""
        width = self.cols + 1
        diff = np.bincount(row * width + c0, minlength=self.rows * width)
        diff -= np.bincount(row * width + c1 + 1, minlength=self.rows * width)
        return np.cumsum(diff.reshape(self.rows, width), axis=1)[:, :self.cols].ravel().astype(np.int32)

    def add(self, counts: np.ndarray, e: IndexEntry, step: int) -> None:
        """Add (step=1) or take away (step=-1) one provider's whole cells."""
        grid = counts.reshape(self.rows, self.cols)
        for r, a, b in zip(*(v.tolist() for v in self.full_spans([e.lat], [e.lon], [e.radius_km])[1:])):
            grid[r, a:b + 1] += step
