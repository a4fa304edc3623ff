"""Coverage of seniors by providers, per service type, kept current one change at a time.

A senior is covered for a service type when some eligible (verified) provider offering it has its
base within its own service radius of the senior. Per service type the index keeps:

- a raster of ~500 m cells counting the providers that cover each *whole* cell (a disk covers a
  cell whole when the cell's centre lies within its radius less the cell's half-diagonal). Built
  with one difference array per type (np.bincount + cumsum), changed by ±1 on a provider's spans;
- for seniors in cells no provider covers whole (the edges of coverage, the countryside), an exact
  query against the type's providers lifted into 4-D (coverage_geometry.Lifted): chord(s, p) <= c_p
  becomes one nearest-neighbour question, whose answer is confirmed with the exact chord.

A provider that moves, changes or is sanctioned changes the raster on its old and new spans and
re-decides only the seniors within its old and new balls (a grid over the seniors finds them):
a few milliseconds at a million seniors. A senior added or moved is decided alone.

Per-senior counts of covering providers would make a change as cheap, but building them means
enumerating every (provider, senior) pair: ~1.2e9 on the synthetic Chenzhou benchmark (50k providers
of 3-10 km among 1M seniors), far beyond its 2 s budget; the cell counts are the same idea per cell.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from dispatch.catalog import ServiceType
from dispatch.coverage_geometry import NONE, CellRaster, Lifted, SeniorGrid
from dispatch.geo import IndexEntry, unit_xyz

_LOOSE_MAX = 4096  # seniors added or moved since the grid was sorted, searched exhaustively till then


class CoverageIndex:
    """Which seniors each service type covers. Seniors are rows (in the order given, then as added);
    providers are IndexEntry values at their *base* position, eligible ones only (verified)."""

    def __init__(self, senior_ids: Sequence[int], lats: Sequence[float], lons: Sequence[float],
                 providers: Iterable[IndexEntry], *, workers: int = -1):
        self._ids = np.asarray(senior_ids, dtype=np.int64).reshape(-1).copy()
        self._n = len(self._ids)
        self._lats = np.asarray(lats, dtype=float).reshape(-1).copy()
        self._lons = np.asarray(lons, dtype=float).reshape(-1).copy()
        self._xyz = unit_xyz(self._lats, self._lons).reshape(-1, 3)
        self._row_of: dict[int, int] | None = None  # built on first use: a full build needs none
        self._grid = SeniorGrid(self._lats, self._lons, self._xyz)
        self._stale = np.zeros(self._n, dtype=bool)  # rows whose grid cell is out of date
        self.raster = CellRaster(self._lats, self._lons)
        self._cell = self.raster.cells(self._lats, self._lons)
        self.providers: dict[int, IndexEntry] = {e.provider_id: e for e in providers}
        self._lifted: dict[ServiceType, Lifted] = {}
        self._full: dict[ServiceType, np.ndarray] = {}
        self._covered: dict[ServiceType, np.ndarray] = {}
        for st in ServiceType:
            mine = [e for e in self.providers.values() if st in e.services]
            self._lifted[st] = Lifted(mine)
            self._full[st] = self.raster.counts([e.lat for e in mine], [e.lon for e in mine],
                                                [e.radius_km for e in mine])
            self._covered[st] = self._decide(st, np.arange(self._n), workers)

    def __len__(self) -> int:
        return self._n

    @property
    def ids(self) -> np.ndarray:
        """Senior ids by row."""
        return self._ids[:self._n]

    @property
    def lats(self) -> np.ndarray:
        return self._lats[:self._n]

    @property
    def lons(self) -> np.ndarray:
        return self._lons[:self._n]

    def covered(self, service_type: ServiceType) -> np.ndarray:
        """Per senior row: covered for this type (a view: copy it to keep it)."""
        return self._covered[ServiceType(service_type)][:self._n]

    def rows_of(self, senior_ids: Iterable[int]) -> np.ndarray:
        """Rows of these seniors (-1 for unknown ids)."""
        if self._row_of is None:
            self._row_of = {int(i): k for k, i in enumerate(self.ids.tolist())}
        return np.array([self._row_of.get(int(i), -1) for i in senior_ids], dtype=np.int64)

    def _decide(self, st: ServiceType, rows: np.ndarray, workers: int = 1) -> np.ndarray:
        # Covered: in a cell some provider covers whole, else by the exact query.
        cells = self._cell[rows]
        out = np.zeros(len(rows), dtype=bool)
        inside = cells != NONE
        out[inside] = self._full[st][cells[inside]] > 0
        rest = np.flatnonzero(~out)
        if len(rest):
            out[rest] = self._lifted[st].witnesses(self._xyz[rows[rest]], workers=workers) != NONE
        return out

    # --- providers ---------------------------------------------------------------------------

    def set_provider(self, provider_id: int, entry: IndexEntry | None) -> None:
        """A provider added, changed (position, radius, services) or gone (entry None: suspended,
        blacklisted, no longer verified)."""
        old = self.providers.pop(provider_id, None)
        if entry is not None:
            self.providers[provider_id] = entry
        if old == entry:
            return
        before = old.services if old else frozenset()
        after = entry.services if entry else frozenset()
        gone = self._ball(old) if old else None  # may lose their cover
        came = self._ball(entry) if entry else None  # covered by this provider now
        for st in before | after:
            self._change_type(st, provider_id, old if st in before else None, entry if st in after else None)
            if st in before:
                self._covered[st][gone] = self._decide(st, gone)
            if st in after:
                self._covered[st][came] = True

    def _ball(self, e: IndexEntry) -> np.ndarray:
        return self._grid.ball(e.lat, e.lon, e.radius_km, self._xyz, self._stale)

    def _change_type(self, st: ServiceType, provider_id: int, old: IndexEntry | None, new: IndexEntry | None) -> None:
        lifted = self._lifted[st]
        lifted.drop(provider_id)
        if old is not None:
            self.raster.add(self._full[st], old, -1)
        if new is not None:
            lifted.put(new)
            self.raster.add(self._full[st], new, 1)
        if lifted.changes > max(64, len(lifted.ids) // 64):  # new tree: the changes outgrew it
            self._lifted[st] = Lifted([e for e in self.providers.values() if st in e.services])

    # --- seniors -----------------------------------------------------------------------------

    def set_senior(self, senior_id: int, lat: float, lon: float) -> int:
        """A senior added or moved; returns their row."""
        row = int(self.rows_of([senior_id])[0])
        if row < 0:
            row = self._append(int(senior_id))
        self._lats[row], self._lons[row] = lat, lon
        self._xyz[row] = unit_xyz([lat], [lon]).reshape(3)
        self._cell[row] = self.raster.cells([lat], [lon])[0]
        self._stale[row] = True
        self._grid.loose.add(row)
        if len(self._grid.loose) > _LOOSE_MAX:
            self._grid = SeniorGrid(self.lats, self.lons, self._xyz[:self._n])
            self._stale[:] = False
        here = np.array([row])
        for st in ServiceType:
            self._covered[st][row] = self._decide(st, here)[0]
        return row

    def _append(self, senior_id: int) -> int:
        row = self._n
        if row == len(self._ids):  # grow by a quarter: appending one by one stays cheap
            more = max(1024, row // 4)
            self._ids = np.concatenate((self._ids, np.zeros(more, np.int64)))
            self._lats, self._lons = (np.concatenate((a, np.zeros(more))) for a in (self._lats, self._lons))
            self._xyz = np.concatenate((self._xyz, np.zeros((more, 3))))
            self._cell = np.concatenate((self._cell, np.full(more, NONE, np.int64)))
            self._stale = np.concatenate((self._stale, np.ones(more, bool)))
            for st in ServiceType:
                self._covered[st] = np.concatenate((self._covered[st], np.zeros(more, bool)))
        self._ids[row] = senior_id
        self._n += 1
        self._row_of[senior_id] = row
        return row
