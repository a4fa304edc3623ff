"""This process's coverage cache: a CoverageIndex loaded once, then kept current change by change.

Providers: every change that matters to dispatch already bumps the "provider" counter and stamps
the row (steps/directory.bump_revision), so the cache reloads only rows with a newer revision and
feeds each to CoverageIndex.set_provider at its *base* position (None unless verified).
Seniors: creating or editing a profile, or a new assessment, bumps the "senior" counter
(note_senior_change) and sets updated_at; when the counter moved, the cache reloads the seniors
updated since its watermark less SENIOR_SLACK (a transaction that stamped updated_at before an
earlier one committed is still caught; reloading a senior twice changes nothing).
Reads go through the cache's own session: an uncommitted change never reaches it.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dispatch.catalog import CareLevel, ProviderStatus, ServiceType
from dispatch.coverage import CoverageIndex
from dispatch.geo import IndexEntry
from models.engine import read_session
from models.providers import Provider
from models.seniors import Senior
from models.types import utcnow
from server.steps.counters import bump_counter, counter_value
from server.steps.directory import COUNTER as PROVIDER_COUNTER

SENIOR_COUNTER = "senior"
SENIOR_SLACK = timedelta(seconds=60)
# Care levels in the order lists show them; codes index this tuple (unassessed last).
LEVELS: tuple[CareLevel | None, ...] = (CareLevel.SEVERE, CareLevel.MODERATE, CareLevel.MILD,
                                        CareLevel.INDEPENDENT, None)
_LEVEL_CODE = {level: k for k, level in enumerate(LEVELS)}
_EXTRAS_KEY = "coverage"
_create_lock = threading.Lock()


def note_senior_change(session: Session, senior: Senior) -> None:
    """In the transaction that creates or changes a senior: stamp it and bump the "senior" counter
    so every process's coverage cache reloads it."""
    senior.updated_at = utcnow()
    session.add(senior)
    bump_counter(session, SENIOR_COUNTER)


@dataclass(frozen=True)
class SeniorsView:
    """In-scope seniors (copies) with their coverage for one service type."""

    ids: np.ndarray
    lats: np.ndarray
    lons: np.ndarray
    community: np.ndarray
    level: np.ndarray  # codes into LEVELS
    covered: np.ndarray
    computed_at: datetime


def _entry(p) -> IndexEntry | None:
    if p.status != ProviderStatus.VERIFIED:
        return None
    return IndexEntry(provider_id=p.id, services=frozenset(ServiceType(s) for s in p.services),
                      lat=p.base_lat, lon=p.base_lon, radius_km=p.service_radius_km)


_PROVIDER_COLUMNS = (Provider.id, Provider.status, Provider.services, Provider.base_lat, Provider.base_lon,
                     Provider.service_radius_km)
_SENIOR_COLUMNS = (Senior.id, Senior.lat, Senior.lon, Senior.community_id, Senior.care_level, Senior.updated_at)


class CoverageCache:
    """The coverage of every senior, per service type, as of the last refresh (each read refreshes)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._index: CoverageIndex | None = None
        self._community = np.empty(0, np.int64)
        self._level = np.empty(0, np.int8)
        self._provider_seen = self._senior_seen = -1
        self._watermark: datetime | None = None
        self.refreshed_at: datetime | None = None

    def seniors(self, service_type: ServiceType, communities: set[int] | None) -> SeniorsView:
        """Seniors of these communities (None: all) and whether each is covered, brought current first."""
        with self._lock:
            self._refresh()
            index, n = self._index, len(self._index)
            rows = np.arange(n) if communities is None else np.flatnonzero(
                np.isin(self._community[:n], np.fromiter(communities, np.int64, len(communities))))
            return SeniorsView(index.ids[rows], index.lats[rows], index.lons[rows], self._community[rows],
                               self._level[rows], index.covered(service_type)[rows], self.refreshed_at)

    def _refresh(self) -> None:
        with read_session(self._engine) as session:
            providers, seniors = counter_value(session, PROVIDER_COUNTER), counter_value(session, SENIOR_COUNTER)
            if self._index is None:
                self._load(session)
            else:
                if providers != self._provider_seen:
                    rows = session.exec(select(*_PROVIDER_COLUMNS)
                                        .where(Provider.revision > self._provider_seen)).all()
                    for p in rows:
                        self._index.set_provider(p.id, _entry(p))
                if seniors != self._senior_seen:
                    self._catch_up_seniors(session)
        self._provider_seen, self._senior_seen = providers, seniors
        self.refreshed_at = utcnow()

    def _load(self, session: Session) -> None:
        seniors = session.exec(select(*_SENIOR_COLUMNS).order_by(Senior.id)).all()
        providers = [e for e in (_entry(p) for p in session.exec(select(*_PROVIDER_COLUMNS)).all()) if e]
        self._index = CoverageIndex([s.id for s in seniors], [s.lat for s in seniors], [s.lon for s in seniors],
                                    providers)
        self._community = np.array([s.community_id for s in seniors], dtype=np.int64)
        self._level = np.array([_LEVEL_CODE[_level(s.care_level)] for s in seniors], dtype=np.int8)
        self._watermark = max((s.updated_at for s in seniors), default=None)

    def _catch_up_seniors(self, session: Session) -> None:
        query = select(*_SENIOR_COLUMNS)
        if self._watermark is not None:
            query = query.where(Senior.updated_at > self._watermark - SENIOR_SLACK)
        for s in session.exec(query).all():
            row = self._index.set_senior(s.id, s.lat, s.lon)
            if row >= len(self._community):
                more = max(1024, len(self._community) // 4)
                self._community = np.concatenate((self._community, np.zeros(more, np.int64)))
                self._level = np.concatenate((self._level, np.zeros(more, np.int8)))
            self._community[row] = s.community_id
            self._level[row] = _LEVEL_CODE[_level(s.care_level)]
            if self._watermark is None or s.updated_at > self._watermark:
                self._watermark = s.updated_at


def _level(value) -> CareLevel | None:
    return CareLevel(value) if value else None


def coverage_cache(extras: dict, engine: Engine) -> CoverageCache:
    """The app's coverage cache (made on first use and kept in AppState.extras)."""
    cache = extras.get(_EXTRAS_KEY)
    if cache is None:
        with _create_lock:
            cache = extras.setdefault(_EXTRAS_KEY, CoverageCache(engine))
    return cache
