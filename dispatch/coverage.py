"""Coverage of seniors by providers, per service type, kept current one change at a time.

A senior is covered for a service type when some eligible (verified) provider offering it has its
base within its own service radius of the senior. Per service type the index keeps:

- a raster of ~500 m cells counting the providers that cover each *whole* cell (a disk covers a
  cell whole when the cell's centre lies within its radius less the cell's half-diagonal). Built
  with one difference array per type (np.bincount + cumsum), changed by ±1 on a provider's spans;
- for seniors in cells no provider covers whole (the edges of coverage, the countryside), a flag
  from an exact query against the type's providers lifted into 4-D (coverage_geometry.Lifted):
  chord(s, p) <= c_p becomes one nearest-neighbour question, confirmed with the exact chord.
  A senior is covered when their cell's count is positive, else when their flag says so.

A provider that moves, changes or is sanctioned changes the counts on its old and new spans; then
only the seniors within its old ball whose cell count is now zero are asked again, and those within
its new ball whose cell count is zero are flagged covered (seniors are kept sorted by cell, so a
cell's seniors are one slice). Where coverage is dense almost no senior is touched: well under a
millisecond at a million seniors. The flag of a senior in a counted cell may be stale; it is asked
again when that cell's count drops to zero, which only a change of a provider whose disk holds the
cell can do. A senior added or moved is decided alone.

Per-senior counts of covering providers would make a change as cheap, but building them means
enumerating every (provider, senior) pair: ~1.2e9 on the synthetic Chenzhou benchmark (50k providers
of 3-10 km among 1M seniors), far beyond its 2 s budget; the cell counts are the same idea per cell.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from dispatch.catalog import ServiceType
from dispatch.coverage_geometry import NONE, CellRaster, Lifted
from dispatch.geo import IndexEntry, chord_for_km, unit_xyz

_LOOSE_MAX = 4096  # seniors added or moved since the last sort by cell, searched exhaustively till then


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
        self.providers: dict[int, IndexEntry] = {e.provider_id: e for e in providers}
        self._lifted = {st: Lifted([e for e in self.providers.values() if st in e.services]) for st in ServiceType}
        self._build(workers)

    def _build(self, workers: int) -> None:
        # The raster over the seniors' extent, the seniors sorted by cell, the counts, the flags.
        n = self._n
        self.raster = CellRaster(self.lats, self.lons)
        self._cell = np.full(len(self._ids), NONE, dtype=np.int64)
        self._cell[:n] = self.raster.cells(self.lats, self.lons)
        self._order = np.argsort(self._cell[:n])
        self._order = self._order[self._cell[self._order] != NONE]
        self._sorted_cells = self._cell[self._order]
        self._loose: set[int] = set(np.flatnonzero(self._cell[:n] == NONE).tolist())
        self._stale = np.zeros(len(self._ids), dtype=bool)  # rows whose place in the sort is out of date
        self._stale[list(self._loose)] = True
        everyone = list(self.providers.values())
        # Every provider's spans once, then each type's counts from the spans of those offering it.
        who, row, c0, c1 = self.raster.full_spans([e.lat for e in everyone], [e.lon for e in everyone],
                                                  [e.radius_km for e in everyone])
        self._full: dict[ServiceType, np.ndarray] = {}
        self._flag: dict[ServiceType, np.ndarray] = {}
        for st in ServiceType:
            offers = np.fromiter((st in e.services for e in everyone), bool, len(everyone))[who]
            self._full[st] = self.raster.counts_of_spans(row[offers], c0[offers], c1[offers])
            self._flag[st] = np.zeros(len(self._ids), dtype=bool)
            ask = np.flatnonzero(~self._counted(st, np.arange(n)))
            self._flag[st][ask] = self._lifted[st].witnesses(self._xyz[ask], workers=workers) != NONE

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
        """Per senior row: covered for this type (a new array)."""
        st = ServiceType(service_type)
        return self._counted(st, np.arange(self._n)) | self._flag[st][:self._n]

    def rows_of(self, senior_ids: Iterable[int]) -> np.ndarray:
        """Rows of these seniors (-1 for unknown ids)."""
        if self._row_of is None:
            self._row_of = {int(i): k for k, i in enumerate(self.ids.tolist())}
        return np.array([self._row_of.get(int(i), -1) for i in senior_ids], dtype=np.int64)

    def _counted(self, st: ServiceType, rows: np.ndarray) -> np.ndarray:
        # In a cell some provider covers whole.
        cells = self._cell[rows]
        return (cells != NONE) & (self._full[st][np.maximum(cells, 0)] > 0)

    def _uncounted_in_ball(self, st: ServiceType, e: IndexEntry) -> np.ndarray:
        # Rows within e's radius of e whose cell has a zero count for st (or lies outside the raster).
        cells = self.raster.box(e.lat, e.lon, e.radius_km)
        cells = cells[self._full[st][cells] == 0]
        lo = np.searchsorted(self._sorted_cells, cells, side="left")
        hi = np.searchsorted(self._sorted_cells, cells, side="right")
        size = hi - lo
        at = np.repeat(lo - np.cumsum(size) + size, size) + np.arange(int(size.sum()))
        rows = self._order[at]
        if self._loose:
            rows = rows[~self._stale[rows]]
            loose = np.fromiter(self._loose, np.int64, len(self._loose))
            rows = np.concatenate((rows, loose[~self._counted(st, loose)]))
        centre = unit_xyz([e.lat], [e.lon]).reshape(3)
        d = self._xyz[rows] - centre
        return rows[np.einsum("ij,ij->i", d, d) <= float(chord_for_km(e.radius_km)) ** 2]

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
        for st in before | after:
            self._change_type(st, provider_id, old if st in before else None, entry if st in after else None)
            if st in before:  # those it may have covered alone: ask again
                ask = self._uncounted_in_ball(st, old)
                self._flag[st][ask] = self._lifted[st].witnesses(self._xyz[ask]) != NONE
            if st in after:
                self._flag[st][self._uncounted_in_ball(st, entry)] = True

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
        self._loose.add(row)
        if len(self._loose) > _LOOSE_MAX:  # sort again (a new raster if seniors left its extent)
            self._build(workers=-1)
            return row
        here = np.array([row])
        for st in ServiceType:
            self._flag[st][row] = self._lifted[st].witnesses(self._xyz[here])[0] != NONE
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
                self._flag[st] = np.concatenate((self._flag[st], np.zeros(more, bool)))
        self._ids[row] = senior_id
        self._n += 1
        self._row_of[senior_id] = row
        return row
