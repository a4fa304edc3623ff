"""Coverage, the coverage map and station siting for the community center console (docs/console.md).

Center staff see their communities, an admin all; every other role is refused (403), a community
outside the caller's scope is not found (404). Coverage comes from the process's CoverageCache,
kept current change by change (docs/coverage.md), never recomputed per request.
"""
from __future__ import annotations

import numpy as np
from sqlmodel import Session, select

from dispatch.catalog import ProviderStatus, ServiceType
from dispatch.geo import bounding_box
from dispatch.siting import GUARANTEE, WEIGHTS, site_stations
from models.accounts import User
from models.coverage import (
    After,
    Before,
    CommunityCoverage,
    CoveragePublic,
    MapCommunity,
    MapProvider,
    MapPublic,
    MapSenior,
    Share,
    SitePublic,
    SitingPublic,
    UncoveredSenior,
)
from models.places import Community
from models.providers import Provider
from models.seniors import Senior
from server.errors import Forbidden, NotFound
from server.steps.access import staff_communities
from server.steps.coverage import LEVELS, CoverageCache, SeniorsView

MAP_SENIORS_MAX = 50_000
_LEVEL_NAMES = tuple(str(level) if level else "unassessed" for level in LEVELS)
_LEVEL_WEIGHT = np.array([WEIGHTS[level] for level in LEVELS], dtype=float)


def _scope(session: Session, user: User, community_id: int | None) -> tuple[set[int] | None, list[Community]]:
    """The communities to report on (None: all) and their rows; 403 for non-staff, 404 out of scope."""
    if not user.role.is_staff:
        raise Forbidden("仅限社区中心工作人员 / Community center staff only")
    scope = staff_communities(session, user)
    if community_id is not None:
        if scope is not None and community_id not in scope:
            raise NotFound()
        scope = {community_id}
    query = select(Community).order_by(Community.id)
    if scope is not None:
        query = query.where(Community.id.in_(scope))
    communities = session.exec(query).all()
    if community_id is not None and not communities:
        raise NotFound()
    return scope, list(communities)


def _share(seniors: int, covered: int) -> Share:
    return Share(seniors=seniors, covered=covered, ratio=round(covered / seniors, 4) if seniors else None)


def coverage_report(*, session: Session, user: User, cache: CoverageCache, service_type: ServiceType,
                    community_id: int | None = None, uncovered_limit: int = 200) -> CoveragePublic:
    """Coverage per community and care level, and the uncovered seniors, neediest first."""
    scope, communities = _scope(session, user, community_id)
    view = cache.seniors(service_type, scope)
    slot = _slots(communities, view.community)
    keep = slot >= 0
    cell = slot[keep] * len(LEVELS) + view.level[keep]
    size = len(communities) * len(LEVELS)
    total = np.bincount(cell, minlength=size).reshape(-1, len(LEVELS))
    covered = np.bincount(cell, weights=view.covered[keep], minlength=size).astype(np.int64).reshape(-1, len(LEVELS))
    if scope is None and community_id is None:  # an admin's overview: the communities that have seniors
        shown = [k for k in range(len(communities)) if total[k].sum()]
    else:
        shown = range(len(communities))
    rows = [CommunityCoverage(community_id=communities[k].id, name=communities[k].name, kind=communities[k].kind,
                              **_share(int(total[k].sum()), int(covered[k].sum())).model_dump(),
                              by_care_level={name: _share(int(total[k, j]), int(covered[k, j]))
                                             for j, name in enumerate(_LEVEL_NAMES)})
            for k in shown]
    return CoveragePublic(service_type=service_type, computed_at=view.computed_at,
                          total=_share(int(keep.sum()), int(view.covered[keep].sum())), communities=rows,
                          uncovered=_uncovered(session, view, uncovered_limit))


def _slots(communities: list[Community], of: np.ndarray) -> np.ndarray:
    """Each senior's position in communities (-1 if not there)."""
    ids = np.array([c.id for c in communities], dtype=np.int64)
    order = np.argsort(ids)
    at = np.minimum(np.searchsorted(ids[order], of), max(len(ids) - 1, 0))
    found = (ids[order][at] == of) if len(ids) else np.zeros(len(of), dtype=bool)
    return np.where(found, order[at] if len(ids) else -1, -1)


def _uncovered(session: Session, view: SeniorsView, limit: int) -> list[UncoveredSenior]:
    rows = np.flatnonzero(~view.covered)
    rows = rows[np.lexsort((view.ids[rows], view.level[rows]))][:limit]
    names = dict(session.exec(select(Senior.id, Senior.name).where(Senior.id.in_(view.ids[rows].tolist()))).all())
    return [UncoveredSenior(senior_id=int(view.ids[r]), name=names.get(int(view.ids[r]), ""),
                            community_id=int(view.community[r]), care_level=LEVELS[view.level[r]],
                            lat=round(float(view.lats[r]), 3), lon=round(float(view.lons[r]), 3))
            for r in rows.tolist()]


def coverage_map(*, session: Session, user: User, cache: CoverageCache, service_type: ServiceType,
                 community_id: int | None = None) -> MapPublic:
    """Seniors (coarse positions) with their coverage, the providers of the type that reach them, the communities."""
    scope, communities = _scope(session, user, community_id)
    view = cache.seniors(service_type, scope)
    rows = np.arange(len(view.ids))
    if len(rows) > MAP_SENIORS_MAX:
        rows = rows[np.linspace(0, len(rows) - 1, MAP_SENIORS_MAX).astype(np.int64)]
    seniors = [MapSenior(id=int(view.ids[r]), lat=round(float(view.lats[r]), 3), lon=round(float(view.lons[r]), 3),
                         care_level=LEVELS[view.level[r]], covered=bool(view.covered[r])) for r in rows.tolist()]
    return MapPublic(seniors=seniors, providers=_map_providers(session, service_type, scope, view),
                     communities=[MapCommunity.model_validate(c, from_attributes=True) for c in communities],
                     truncated=len(rows) < len(view.ids))


def _map_providers(session: Session, service_type: ServiceType, scope: set[int] | None,
                   view: SeniorsView) -> list[MapProvider]:
    # The type's providers of these communities, and verified ones from elsewhere whose radius
    # reaches the box around these seniors (50 km: the widest radius a profile may have).
    query = select(Provider)
    if scope is not None:
        if not len(view.ids):
            query = query.where(Provider.community_id.in_(scope))
        else:
            low = bounding_box(float(view.lats.min()), float(view.lons.min()), 50.0)
            high = bounding_box(float(view.lats.max()), float(view.lons.max()), 50.0)
            near = (Provider.base_lat.between(low[0], high[1]) & Provider.base_lon.between(low[2], high[3])
                    & (Provider.status == ProviderStatus.VERIFIED.value))
            query = query.where(Provider.community_id.in_(scope) | near)
    out = []
    for p in session.exec(query.order_by(Provider.id)).all():
        if service_type in p.services:
            out.append(MapProvider(id=p.id, name=p.name, lat=round(p.base_lat, 3), lon=round(p.base_lon, 3),
                                   radius_km=p.service_radius_km, status=p.status, on_duty=p.on_duty))
    return out


def suggest_sites(*, session: Session, user: User, cache: CoverageCache, service_type: ServiceType, k: int,
                  radius_km: float = 3.0, community_id: int | None = None) -> SitingPublic:
    """k points for new stations covering the most uncovered weight (greedy, within 1 − 1/e of the best)."""
    scope, _ = _scope(session, user, community_id)
    view = cache.seniors(service_type, scope)
    weight = _LEVEL_WEIGHT[view.level]
    open_rows = np.flatnonzero(~view.covered)
    sites = site_stations(view.lats[open_rows], view.lons[open_rows], weight[open_rows], k, radius_km)
    covered_weight = float(weight[view.covered].sum())
    out = []
    for site in sites:
        here = view.community[open_rows[site.seniors]]
        values, counts = np.unique(here, return_counts=True)
        out.append(SitePublic(lat=round(site.lat, 5), lon=round(site.lon, 5),
                              community_id=int(values[counts.argmax()]) if len(values) else None,
                              seniors=len(site.seniors), weight=site.weight))
    return SitingPublic(service_type=service_type, k=k, radius_km=radius_km, guarantee=GUARANTEE,
                        before=Before(covered_weight=covered_weight, uncovered_weight=float(weight[open_rows].sum())),
                        sites=out, after=After(covered_weight=covered_weight + sum(s.weight for s in sites)))
