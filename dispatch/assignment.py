"""Batch assignment of upcoming plan visits to providers: continuity first, then least travel.

1. Continuity: each visit's own providers (the plan's preferred one, then the last who served this
   senior for this service) take it when they can, in start order.
2. The rest: a min-cost bipartite matching of visits to providers that minimises total travel,
   subject to eligibility (the service, the provider's radius), working hours and time conflicts.
   Each visit considers its `k` nearest providers (a cKDTree on unit-sphere coordinates), and the
   sparse matching (scipy's LAPJVsp, `min_weight_full_bipartite_matching`) has a dummy column per
   visit costing more than any journey, so as many visits as possible are placed and a visit with
   no one left is reported, not forced. A round gives a provider at most one visit; the next round
   adds their new visit to their busy times and matches what is left, until nothing changes.

`optimal_assignment` (dense `linear_sum_assignment`) and `greedy_assignment` (nearest first) are
the references the tests and the benchmark compare against. Pure: no clock, no database.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching, min_weight_full_bipartite_matching
from scipy.spatial import cKDTree

from dispatch.catalog import ServiceType
from dispatch.geo import great_circle_km, km_for_chord, unit_xyz
from dispatch.visits import is_free

WORKING_HOURS = (7 * 60, 21 * 60)  # local minutes: providers are not sent out before 07:00 or after 21:00
UNPLACED_KM = 1.0e6  # the dummy "nobody" costs more than any journey
TIE_BREAK = 1.0e-9  # relative: between assignments of equal travel, the earlier visits get the nearer providers
NEAREST = 16
_SERVICES = list(ServiceType)
_BIT = {s: 1 << i for i, s in enumerate(_SERVICES)}


@dataclass(frozen=True)
class Visit:
    id: int
    service_type: ServiceType
    lat: float
    lon: float
    start: datetime
    end: datetime
    continuity: tuple[int, ...] = ()  # providers to try first: preferred, then the last who served


@dataclass(frozen=True)
class Worker:
    id: int
    services: frozenset[ServiceType]
    lat: float
    lon: float
    radius_km: float
    busy: tuple[tuple[datetime, datetime], ...] = ()  # committed visits, half-open
    hours: tuple[int, int] = WORKING_HOURS  # local working window in minutes after midnight


@dataclass
class Assignment:
    chosen: dict[int, int] = field(default_factory=dict)  # visit id -> worker id
    km: dict[int, float] = field(default_factory=dict)  # visit id -> travel of the chosen worker
    by_continuity: set[int] = field(default_factory=set)
    unassigned: list[int] = field(default_factory=list)

    @property
    def total_km(self) -> float:
        return float(sum(self.km.values()))

    @property
    def worst_km(self) -> float:
        return max(self.km.values(), default=0.0)


def _minutes(moment: datetime, zone: tzinfo) -> int:
    local = moment.astimezone(zone)
    return local.hour * 60 + local.minute


def within_hours(worker: Worker, visit: Visit, zone: tzinfo) -> bool:
    """Whether the visit lies inside the worker's local working window (same local day)."""
    begin, end = _minutes(visit.start, zone), _minutes(visit.end, zone)
    if visit.end.astimezone(zone).date() != visit.start.astimezone(zone).date() and end != 0:
        return False
    end = end or 24 * 60
    return worker.hours[0] <= begin and end <= worker.hours[1]


def feasible_km(worker: Worker, visit: Visit, zone: tzinfo, extra: Sequence[tuple[datetime, datetime]] = ()
                ) -> float | None:
    """Travel in km when the worker may take the visit (service, radius, hours, no clash); else None."""
    if visit.service_type not in worker.services or not within_hours(worker, visit, zone):
        return None
    if not is_free(worker.busy, visit.start, visit.end) or not is_free(extra, visit.start, visit.end):
        return None
    km = great_circle_km(worker.lat, worker.lon, visit.lat, visit.lon)
    return km if km <= worker.radius_km else None


def assign_visits(visits: Sequence[Visit], workers: Sequence[Worker], *, zone: tzinfo, k: int = NEAREST,
                  max_rounds: int = 6) -> Assignment:
    """Continuity first, then rounds of least-travel matching (module docstring)."""
    result = Assignment()
    by_id = {w.id: w for w in workers}
    extra: dict[int, list[tuple[datetime, datetime]]] = {}
    for visit in sorted(visits, key=lambda v: (v.start, v.id)):
        for pid in visit.continuity:
            worker = by_id.get(pid)
            km = None if worker is None else feasible_km(worker, visit, zone, extra.get(pid, ()))
            if km is not None:
                _take(result, extra, visit, pid, km)
                result.by_continuity.add(visit.id)
                break
    left = [v for v in visits if v.id not in result.chosen]
    matcher = _Matcher(workers, zone)
    for _ in range(max_rounds):
        if not left:
            break
        placed = matcher.match(left, extra, k)
        if not placed:
            break
        for visit, pid, km in placed:
            _take(result, extra, visit, pid, km)
        left = [v for v in left if v.id not in result.chosen]
    result.unassigned = sorted(v.id for v in left)
    return result


def _take(result: Assignment, extra: dict, visit: Visit, pid: int, km: float) -> None:
    result.chosen[visit.id] = pid
    result.km[visit.id] = km
    extra.setdefault(pid, []).append((visit.start, visit.end))


class _Matcher:
    """The workers as arrays and a tree, built once for every round."""

    def __init__(self, workers: Sequence[Worker], zone: tzinfo):
        self.workers, self.zone = list(workers), zone
        xyz = unit_xyz([w.lat for w in workers], [w.lon for w in workers]) if workers else np.zeros((0, 3))
        self.radius = np.array([w.radius_km for w in workers], dtype=float)
        masks: dict[frozenset, int] = {}
        for w in workers:
            if w.services not in masks:
                masks[w.services] = sum(_BIT[s] for s in w.services)
        self.services = np.array([masks[w.services] for w in workers], dtype=np.int64)
        self.hours = np.array([w.hours for w in workers], dtype=np.int64).reshape(-1, 2)
        self.has_busy = np.array([bool(w.busy) for w in workers], dtype=bool)
        self.index = {w.id: i for i, w in enumerate(workers)}
        # One tree per service type over the workers offering it: a visit's k nearest are all candidates.
        self.trees = {}
        for bit, service in enumerate(_SERVICES):
            members = np.nonzero(self.services & (1 << bit))[0]
            if members.size:
                self.trees[service] = (cKDTree(xyz[members]), members)

    def _nearest(self, visits: list[Visit], k: int) -> tuple[np.ndarray, np.ndarray]:
        """(km, worker index) of each visit's k nearest workers of its type; missing ones are inf, -1."""
        q = unit_xyz([v.lat for v in visits], [v.lon for v in visits])
        km = np.full((len(visits), k), np.inf)
        idx = np.full((len(visits), k), -1, dtype=np.int64)
        types = np.array([_SERVICES.index(v.service_type) for v in visits])
        for bit, service in enumerate(_SERVICES):
            rows = np.nonzero(types == bit)[0]
            if rows.size == 0 or service not in self.trees:
                continue
            tree, members = self.trees[service]
            kk = min(k, len(members))
            chord, local = tree.query(q[rows], k=kk)
            km[rows, :kk] = km_for_chord(chord.reshape(rows.size, kk))
            idx[rows, :kk] = members[local.reshape(rows.size, kk)]
        return km, idx

    def match(self, visits: list[Visit], extra: dict, k: int) -> list[tuple[Visit, int, float]]:
        """One round: each worker at most one of visits, least total travel, most visits placed."""
        m = len(self.workers)
        if m == 0:
            return []
        km, idx = self._nearest(visits, min(k, m))
        found = idx >= 0
        idx = np.where(found, idx, 0)
        minutes = _Minutes(self.zone)  # a day's visits share a few times
        begin = np.array([minutes[v.start] for v in visits])[:, None]
        end = np.array([minutes[v.end] or 24 * 60 for v in visits])[:, None]
        ok = found & (km <= self.radius[idx])
        ok &= (self.hours[idx, 0] <= begin) & (end <= self.hours[idx, 1]) & (end > begin)
        rows, cols = np.nonzero(ok)
        taken = np.zeros(m, dtype=bool)
        taken[[self.index[pid] for pid in extra if pid in self.index]] = True
        check = np.nonzero(self.has_busy[idx[rows, cols]] | taken[idx[rows, cols]])[0].tolist()
        if check:  # clashes: only the pairs whose worker has visits at all
            drop = [i for i in check if not self._free(visits[rows[i]], int(idx[rows[i], cols[i]]), extra)]
            keep = np.ones(rows.size, dtype=bool)
            keep[drop] = False
            rows, cols = rows[keep], cols[keep]
        if rows.size == 0:
            return []
        workers = idx[rows, cols]
        r_ind, c_ind = _min_cost_matching(rows, workers, km[rows, cols] + 1e-6, len(visits), m)  # 0: "no edge"
        keys = rows.astype(np.int64) * m + workers  # each edge once: a worker is among a visit's k once
        order = np.argsort(keys)
        at = order[np.searchsorted(keys, r_ind.astype(np.int64) * m + c_ind, sorter=order)]
        travel = km[rows, cols][at]
        return [(visits[r], self.workers[c].id, d) for r, c, d in zip(r_ind.tolist(), c_ind.tolist(), travel.tolist())]

    def _free(self, visit: Visit, w: int, extra: dict) -> bool:
        worker = self.workers[w]
        if self.has_busy[w] and not is_free(worker.busy, visit.start, visit.end):
            return False
        taken = extra.get(worker.id)
        return not taken or is_free(taken, visit.start, visit.end)


def _min_cost_matching(rows: np.ndarray, cols: np.ndarray, cost: np.ndarray, n: int, m: int
                       ) -> tuple[np.ndarray, np.ndarray]:
    """The most rows matched, then the least total cost (rows to distinct columns), as (rows, cols).

    Rows with no edge are left out. When the others can all be matched (Hopcroft-Karp says so in
    well under a millisecond), LAPJVsp solves that alone; otherwise each row gets a dummy column
    costing more than any journey, so a row is left unmatched only when that places more of the
    others. Ties go to the earlier rows (placed first, then nearer), whichever way it is solved."""
    alive = np.unique(rows)
    r = np.searchsorted(alive, rows)
    first = 1.0 + TIE_BREAK * (1.0 - np.arange(n) / n)  # row i's costs, its dummy's too, × a hair more than i+1's
    cost = cost * first[rows]
    plain = csr_matrix((cost, (r, cols)), shape=(alive.size, m))
    if alive.size <= m and (maximum_bipartite_matching(plain, perm_type="column") >= 0).all():
        r_ind, c_ind = min_weight_full_bipartite_matching(plain)
        return alive[r_ind], c_ind
    k = alive.size
    graph = csr_matrix((np.concatenate([cost, UNPLACED_KM * first[alive]]),
                        (np.concatenate([r, np.arange(k)]), np.concatenate([cols, m + np.arange(k)]))),
                       shape=(k, m + k))
    r_ind, c_ind = min_weight_full_bipartite_matching(graph)
    real = c_ind < m
    return alive[r_ind[real]], c_ind[real]


class _Minutes(dict):
    """Local minutes after midnight of each moment, worked out once."""

    def __init__(self, zone: tzinfo):
        super().__init__()
        self.zone = zone

    def __missing__(self, moment: datetime) -> int:
        value = self[moment] = _minutes(moment, self.zone)
        return value


def cost_matrix(visits: Sequence[Visit], workers: Sequence[Worker], *, zone: tzinfo) -> np.ndarray:
    """Dense travel km for every visit × worker, UNPLACED_KM where the worker may not take it."""
    lat1 = np.radians(np.array([v.lat for v in visits]))[:, None]
    lon1 = np.radians(np.array([v.lon for v in visits]))[:, None]
    lat2 = np.radians(np.array([w.lat for w in workers]))[None, :]
    lon2 = np.radians(np.array([w.lon for w in workers]))[None, :]
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    km = 2 * 6371.0088 * np.arcsin(np.sqrt(np.minimum(1.0, h)))
    services = np.array([sum(1 << _SERVICES.index(s) for s in w.services) for w in workers])[None, :]
    bits = np.array([1 << _SERVICES.index(v.service_type) for v in visits])[:, None]
    radius = np.array([w.radius_km for w in workers])[None, :]
    hours = np.array([w.hours for w in workers], dtype=np.int64).reshape(-1, 2)
    begin = np.array([_minutes(v.start, zone) for v in visits])[:, None]
    end = np.array([_minutes(v.end, zone) or 24 * 60 for v in visits])[:, None]
    ok = ((services & bits) != 0) & (km <= radius) & (end > begin)
    ok &= (hours[None, :, 0] <= begin) & (end <= hours[None, :, 1])
    for j in [j for j, w in enumerate(workers) if w.busy]:  # clashes: only workers with visits at all
        for i in np.nonzero(ok[:, j])[0].tolist():
            ok[i, j] = is_free(workers[j].busy, visits[i].start, visits[i].end)
    return np.where(ok, km, UNPLACED_KM)


def optimal_assignment(visits: Sequence[Visit], workers: Sequence[Worker], *, zone: tzinfo,
                       cost: np.ndarray | None = None) -> Assignment:
    """The exact optimum of one round (each worker at most one visit): dense linear_sum_assignment."""
    cost = cost_matrix(visits, workers, zone=zone) if cost is None else cost
    result = Assignment()
    rows, cols = linear_sum_assignment(cost)
    for r, c in zip(rows.tolist(), cols.tolist()):
        if cost[r, c] < UNPLACED_KM:
            result.chosen[visits[r].id] = workers[c].id
            result.km[visits[r].id] = float(cost[r, c])
    result.unassigned = sorted(v.id for v in visits if v.id not in result.chosen)
    return result


def greedy_assignment(visits: Sequence[Visit], workers: Sequence[Worker], *, zone: tzinfo,
                      cost: np.ndarray | None = None) -> Assignment:
    """The naive baseline: in start order, each visit takes the nearest worker still free for it
    (one visit per worker, as in one matching round)."""
    cost = cost_matrix(visits, workers, zone=zone) if cost is None else cost
    result = Assignment()
    used = np.zeros(len(workers), dtype=bool)
    order = sorted(range(len(visits)), key=lambda i: (visits[i].start, visits[i].id))
    for i in order:
        row = np.where(used, UNPLACED_KM, cost[i])
        j = int(np.argmin(row)) if len(workers) else 0
        if len(workers) and row[j] < UNPLACED_KM:
            used[j] = True
            result.chosen[visits[i].id] = workers[j].id
            result.km[visits[i].id] = float(row[j])
    result.unassigned = sorted(v.id for v in visits if v.id not in result.chosen)
    return result
