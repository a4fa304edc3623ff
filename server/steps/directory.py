"""The process's view of providers for dispatch: a geo index kept current from the database.

Each process holds its own GeoIndex. Every dispatch-relevant provider change bumps the "provider"
counter in the same transaction and stamps the row with it, so any process brings its index up to
date by reading the counter (one tiny query) and reloading only rows with a newer revision.
The directory also keeps each provider's matching profile, as current as the index; a booking
reads only the providers' committed visits fresh, and accepting an offer re-checks the provider's
standing, so a sanction made in another process within check_every cannot slip through.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
from sqlalchemy import and_, bindparam, event as sa_event, func, or_
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from dispatch.catalog import ProviderStatus, ServiceType
from dispatch.geo import GeoIndex, IndexEntry, bounding_box, great_circle_km_many
from dispatch.lifecycle import VISIT_STATUSES, RequestStatus
from dispatch.matching import DUTY_FRESH_FOR, ProviderSnapshot
from models.engine import read_session
from models.lists import among
from models.providers import Provider
from models.requests import ServiceRequest
from server.cooperate import give_way, in_background
from server.steps.counters import bump_counter, counter_value

COUNTER = "provider"
_CHANGED = "linli.provider_changed"
# Provider changes committed by this process: the directory re-checks the database at once after
# one, and otherwise at most every check_every seconds (changes from other processes).
_local_commits = {"count": 0}
_LOAD_CHUNK = 500  # providers loaded between two chances for other work to run


@sa_event.listens_for(OrmSession, "after_commit")
def _count_local_change(session: OrmSession) -> None:
    if session.info.pop(_CHANGED, False):
        _local_commits["count"] += 1


@sa_event.listens_for(OrmSession, "after_rollback")
def _forget_local_change(session: OrmSession) -> None:
    session.info.pop(_CHANGED, None)


def bump_revision(session: Session, provider: Provider) -> None:
    """Stamp provider with a new revision so every process's index picks the change up."""
    session.info[_CHANGED] = True
    provider.revision = bump_counter(session, COUNTER)
    session.add(provider)


def index_entry(p, now: datetime) -> IndexEntry | None:
    """Where the index should find p (a Provider, or a row of its _PLACE_COLUMNS): its fresh on-duty
    position, else its base; None if never eligible."""
    if p.status != ProviderStatus.VERIFIED:
        return None
    fresh = p.on_duty and p.duty_lat is not None and p.duty_updated_at and now - p.duty_updated_at <= DUTY_FRESH_FOR
    lat, lon = (p.duty_lat, p.duty_lon) if fresh else (p.base_lat, p.base_lon)
    return IndexEntry(provider_id=p.id, services=frozenset(ServiceType(s) for s in p.services),
                      lat=lat, lon=lon, radius_km=p.service_radius_km)


class ProviderDirectory:
    """A GeoIndex of verified providers plus the loading of fresh snapshots for a short list.

    With warm="background" (the server) a new process answers from the SQL bounding-box fallback
    while its index loads on a thread, and new trees are built on another thread while bookings go
    on with the old ones; warm="sync" (tools, tests) loads it on first use and builds in the reader.
    """

    def __init__(self, engine: Engine, *, warm: str = "sync", check_every: float = 0.0) -> None:
        self._engine = engine
        self._check_every = check_every
        self._checked: tuple[float, int] | None = None  # (monotonic time, local commits) at the last check
        self.index = GeoIndex.build([], build_elsewhere=in_background if warm == "background" else None)
        self._seen = -1
        self._lock = threading.Lock()
        self._warm = warm
        self._warming = False
        # Each provider's matching profile and account, as of the last refresh: as current as the
        # index (at once for this process's changes, within check_every for other processes').
        self._profiles: dict[int, tuple[ProviderSnapshot, int]] = {}

    @property
    def ready(self) -> bool:
        """Whether the index has been loaded at least once."""
        return self._seen >= 0

    def _start_warming(self, now: datetime) -> None:
        with self._lock:
            if self._warming:
                return
            self._warming = True
        threading.Thread(target=self.refresh, args=(now,), name="linli-geo-index", daemon=True).start()

    def warm(self, now: datetime) -> None:
        """Load the index and build its trees now: a server does this before it listens, so no
        request waits for the load or takes the SQL fallback."""
        self.refresh(now)
        self.index.for_service(None)

    def refresh(self, now: datetime) -> None:
        """Bring the index up to date with committed data (cheap when nothing changed).

        It reads through its own session: an uncommitted change must never reach the shared index.
        """
        local = _local_commits["count"]
        if self._checked is not None and self._checked[1] == local \
                and time.monotonic() - self._checked[0] < self._check_every:
            return
        with read_session(self._engine) as session:
            self._refresh(session, now)
        self._checked = (time.monotonic(), local)

    def _refresh(self, session: Session, now: datetime) -> None:
        current = counter_value(session, COUNTER)
        if current == self._seen:
            return
        with self._lock:
            if current == self._seen:
                return
            # In chunks by id, one statement each (no server-side cursor, no transaction held open
            # while other work runs between them). Revisions commit in counter order, so every change
            # up to `current` is visible now; rows newer than it are loaded again next time.
            last = 0
            while True:
                rows = session.exec(select(Provider).where(Provider.revision > self._seen, Provider.id > last)
                                    .order_by(Provider.id).limit(_LOAD_CHUNK)).all()
                for p in rows:
                    entry = index_entry(p, now)
                    if entry is None:
                        self.index.remove(p.id)
                    else:
                        self.index.upsert(entry)
                    self._profiles[p.id] = (snapshot(p, []), p.user_id)
                if len(rows) < _LOAD_CHUNK:
                    break
                last = rows[-1].id
                give_way()  # a large directory loads in several turns
            self._seen = current

    def candidates(self, service_type: ServiceType, lat: float, lon: float, now: datetime, *,
                   limit: int | None = None) -> list[int]:
        """Ids of providers of service_type whose radius covers the point, nearest first (the
        nearest `limit` of them when given)."""
        if not self.ready and self._warm == "background":
            self._start_warming(now)
            with read_session(self._engine) as session:
                return [pid for pid, _km in sql_candidates(session, service_type, lat, lon, now, limit=limit)]
        self.refresh(now)
        return [pid for pid, _km in self.index.candidates(service_type, lat, lon, limit=limit)]


    def facts(self, session: Session, senior_id: int, ids: Iterable[int]) -> CandidateFacts:
        """Profiles (from this directory, or the database for any it lacks) with load and history read fresh."""
        ids = list(ids)
        if not ids:
            return CandidateFacts({}, {}, {})
        profiles = {i: self._profiles[i] for i in ids if i in self._profiles}
        profiles.update(_load_profiles(session, [i for i in ids if i not in profiles]))
        busy, history = _visits(session, senior_id, ids)
        snaps = {pid: replace(snap, busy=tuple(busy[pid]), active_load=len(busy[pid])) if pid in busy else snap
                 for pid, (snap, _user) in profiles.items()}
        return CandidateFacts(snaps, history, {pid: user for pid, (_snap, user) in profiles.items()})

    def facts_many(self, session: Session, wants: list[tuple[int, list[int]]]) -> list[CandidateFacts]:
        """facts() for several (senior id, short list) pairs at once: one read of the visits of them
        all (the sweep advances requests in batches)."""
        every = sorted({i for _senior, ids in wants for i in ids})
        if not every:
            return [CandidateFacts({}, {}, {}) for _ in wants]
        profiles = {i: self._profiles[i] for i in every if i in self._profiles}
        profiles.update(_load_profiles(session, [i for i in every if i not in profiles]))
        rows = session.execute(_VISITS_MANY, {"ids": every, "senior_ids": sorted({s for s, _ids in wants})}).all()
        busy: dict[int, list] = {}
        history: dict[tuple[int, int], int] = {}
        for pid, status, start, end, senior_id in rows:
            if status == RequestStatus.COMPLETED:
                history[senior_id, pid] = history.get((senior_id, pid), 0) + 1
            else:
                busy.setdefault(pid, []).append((start, end))
        snaps = {pid: replace(snap, busy=tuple(busy[pid]), active_load=len(busy[pid])) if pid in busy else snap
                 for pid, (snap, _user) in profiles.items()}
        return [CandidateFacts({i: snaps[i] for i in ids if i in snaps},
                               {i: history[senior_id, i] for i in ids if (senior_id, i) in history},
                               {i: profiles[i][1] for i in ids if i in profiles})
                for senior_id, ids in wants]


def positioned_near(lat: float, lon: float, km: float):
    """SQL condition: the provider's base or on-duty position lies in the box around the point
    (the prefilter on the indexed lat/lon columns; callers apply the exact distance after)."""
    south, north, west, east = bounding_box(lat, lon, km)

    def inside(lat_col, lon_col):
        return and_(lat_col.between(south, north), lon_col.between(west, east))

    return or_(inside(Provider.base_lat, Provider.base_lon), inside(Provider.duty_lat, Provider.duty_lon))


_PLACE_COLUMNS = (Provider.id, Provider.status, Provider.services, Provider.base_lat, Provider.base_lon,
                  Provider.service_radius_km, Provider.on_duty, Provider.duty_lat, Provider.duty_lon,
                  Provider.duty_updated_at)


def sql_candidates(session: Session, service_type: ServiceType, lat: float, lon: float, now: datetime, *,
                   limit: int | None = None) -> list[tuple[int, float]]:
    """The fallback when no index is loaded: a bounding-box prefilter on the indexed lat/lon columns,
    then the same radius rule as the index, nearest first."""
    widest = session.exec(select(func.max(Provider.service_radius_km))).first() or 0.0
    # Rows of the columns index_entry reads, not ORM objects: a dense area has thousands.
    rows = session.exec(select(*_PLACE_COLUMNS).where(Provider.status == ProviderStatus.VERIFIED.value,
                                                      positioned_near(lat, lon, widest))).all()
    entries = [e for e in (index_entry(p, now) for p in rows) if e is not None and service_type in e.services]
    if not entries:
        return []
    km = great_circle_km_many(lat, lon, np.array([e.lat for e in entries]), np.array([e.lon for e in entries]))
    hits = sorted((d, e.provider_id) for d, e in zip(km.tolist(), entries) if d <= e.radius_km)
    return [(pid, d) for d, pid in hits[:limit]]


# The columns matching needs: rows of these, not whole ORM objects, keep a booking's short list cheap.
_SNAPSHOT_COLUMNS = (Provider.id, Provider.user_id, Provider.status, Provider.services, Provider.base_lat,
                     Provider.base_lon, Provider.service_radius_km, Provider.on_duty, Provider.duty_lat,
                     Provider.duty_lon, Provider.duty_updated_at, Provider.rating_sum, Provider.rating_count,
                     Provider.credit_score, Provider.certifications)


@dataclass(frozen=True)
class CandidateFacts:
    """What ranking a short list needs."""

    snapshots: dict[int, ProviderSnapshot]
    past_visits: dict[int, int]  # completed visits to this senior, per provider (continuity of care)
    user_ids: dict[int, int]  # the account behind each provider, to address their events


_PROFILES = select(*_SNAPSHOT_COLUMNS).where(among(Provider.id, "ids"))


def _load_profiles(session: Session, ids: list[int]) -> dict[int, tuple[ProviderSnapshot, int]]:
    rows = session.exec(_PROFILES, params={"ids": ids}).all() if ids else []
    return {p.id: (snapshot(p, []), p.user_id) for p in rows}


# Built once (a booking's hot path): committed visits of the short list, and their completed visits to this senior.
_REQ = ServiceRequest.__table__.c  # table columns: the statement runs on the Core path, no ORM compile
_VISITS = (select(_REQ.provider_id, _REQ.status, _REQ.scheduled_start, _REQ.scheduled_end)
           .where(among(_REQ.provider_id, "ids"),
                  _REQ.status.in_([s.value for s in VISIT_STATUSES])
                  | ((_REQ.status == RequestStatus.COMPLETED.value) & (_REQ.senior_id == bindparam("senior_id")))))
_VISITS_MANY = (select(_REQ.provider_id, _REQ.status, _REQ.scheduled_start, _REQ.scheduled_end, _REQ.senior_id)
                .where(among(_REQ.provider_id, "ids"),
                       _REQ.status.in_([s.value for s in VISIT_STATUSES])
                       | ((_REQ.status == RequestStatus.COMPLETED.value) & among(_REQ.senior_id, "senior_ids"))))


def _visits(session: Session, senior_id: int, ids: list[int]) -> tuple[dict[int, list], dict[int, int]]:
    """Committed visit times per provider, and their completed visits to this senior."""
    rows = session.execute(_VISITS, {"ids": ids, "senior_id": senior_id}).all()
    busy: dict[int, list] = {}
    history: dict[int, int] = {}
    for pid, status, start, end in rows:
        if status == RequestStatus.COMPLETED:
            history[pid] = history.get(pid, 0) + 1
        else:
            busy.setdefault(pid, []).append((start, end))
    return busy, history


def snapshot(p, busy: list) -> ProviderSnapshot:
    """One provider (a Provider or a row of its columns) as the matching domain sees it."""
    return ProviderSnapshot(
        id=p.id, status=ProviderStatus(p.status), services=frozenset(ServiceType(s) for s in p.services),
        base_lat=p.base_lat, base_lon=p.base_lon, service_radius_km=p.service_radius_km, on_duty=p.on_duty,
        duty_lat=p.duty_lat, duty_lon=p.duty_lon, duty_updated_at=p.duty_updated_at,
        rating_avg=(p.rating_sum / p.rating_count) if p.rating_count else None, rating_count=p.rating_count,
        credit_score=p.credit_score, certifications=frozenset(p.certifications), active_load=len(busy),
        busy=tuple(busy))
