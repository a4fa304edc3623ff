"""Service statistics over a period: counts per community and service type (GROUP BY in SQL),
response times and SOS acknowledgement as percentiles (numpy over the fetched durations), and the
rural figures the Chenzhou policy names. Definitions: dispatch/statistics.py and docs/subsidies.md."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import case, func, select
from sqlmodel import Session

from dispatch import statistics as st
from dispatch.catalog import CommunityKind, ProviderStatus, ServiceType
from dispatch.geo import great_circle_km_many
from dispatch.lifecycle import RequestStatus
from dispatch.recurrence import local_midnight
from models.accounts import User
from models.places import Community
from models.providers import Provider
from models.reports import Stats
from models.requests import ServiceRequest
from models.seniors import Senior
from models.sos import SosAck, SosAlert
from models.types import local_zone
from server.steps.reporting import report_scope, within

DEFAULT_DAYS = 30
MAX_RADIUS_DEG = 0.5  # providers' radii are at most 50 km (~0.45° of latitude): a generous box first
COUNTS = ("requests", "completed", "cancelled", "escalated")


def period(start: date | None, end: date | None, now: datetime) -> tuple[date, date]:
    """The asked period, or the last DEFAULT_DAYS local days up to today (or up to `end`)."""
    end = end or (start + timedelta(days=DEFAULT_DAYS - 1) if start else now.astimezone(local_zone()).date())
    return start or end - timedelta(days=DEFAULT_DAYS - 1), end


def service_stats(*, session: Session, user: User, start: date | None, end: date | None, community_id: int | None,
                  service_type: ServiceType | None, now: datetime) -> Stats:
    """The figures of requests scheduled in the period (local days, both included) in the caller's view."""
    scope = report_scope(session, user, community_id)
    start, end = period(start, end, now)
    lo, hi = local_midnight(start, local_zone()), local_midnight(end + timedelta(days=1), local_zone())
    where = [ServiceRequest.scheduled_start >= lo, ServiceRequest.scheduled_start < hi,
             within(ServiceRequest.community_id, scope)]
    if service_type is not None:
        where.append(ServiceRequest.service_type == service_type)
    counts = _counts(session, where)
    accept, arrival = _timings(session, where)
    sos = _sos(session, scope, lo, hi)
    places = {row[0]: row for row in session.execute(select(Community.id, Community.name, Community.kind).where(
        Community.id.in_({c for c, _ in counts} | set(sos))))}
    by_community = [{"community_id": cid, "name": places[cid][1], "kind": str(places[cid][2]),
                     **_figures(counts, accept, arrival, lambda k, cid=cid: k[0] == cid, sos.get(cid, []))}
                    for cid in sorted(places)]
    by_type = [{"service_type": t, **_figures(counts, accept, arrival, lambda k, t=t: k[1] == t, None)}
               for t in ServiceType if any(k[1] == t for k in counts)]
    overall = _figures(counts, accept, arrival, lambda k: True, [s for acks in sos.values() for s in acks])
    return Stats(from_=start, to=end, overall=overall, by_community=by_community, by_service_type=by_type,
                 rural=_rural(session, scope, lo, hi, service_type))


def _counts(session: Session, where: list) -> dict[tuple[int, ServiceType], dict[str, int]]:
    status = ServiceRequest.status
    query = (select(ServiceRequest.community_id, ServiceRequest.service_type, func.count(),
                    func.sum(case((status == RequestStatus.COMPLETED, 1), else_=0)),
                    func.sum(case((status == RequestStatus.CANCELLED, 1), else_=0)),
                    func.count(ServiceRequest.escalated_at))
             .where(*where).group_by(ServiceRequest.community_id, ServiceRequest.service_type))
    return {(row[0], ServiceType(row[1])): dict(zip(COUNTS, (int(v or 0) for v in row[2:])))
            for row in session.execute(query)}


def _timings(session: Session, where: list) -> tuple[dict, dict]:
    """Accept and arrival minutes of the assigned requests, listed per (community, service type)."""
    r = ServiceRequest
    query = select(r.community_id, r.service_type, r.asap, r.created_at, r.scheduled_start, r.first_offer_at,
                   r.assigned_at, r.checkin_at).where(*where, r.assigned_at.is_not(None))
    accept, arrival = defaultdict(list), defaultdict(list)
    for row in session.connection().execute(query):
        key, timing = (row[0], ServiceType(row[1])), st.Timing(*row[2:])
        for samples, value in ((accept, st.accept_minutes(timing)), (arrival, st.arrival_minutes(timing))):
            if value is not None:
                samples[key].append(value)
    return accept, arrival


def _sos(session: Session, scope: set[int] | None, lo: datetime, hi: datetime) -> dict[int, list[float | None]]:
    """Per community, the seconds to first acknowledgement of each alert opened in the period (None: none yet)."""
    first = (select(SosAck.sos_id, func.min(SosAck.at).label("at")).group_by(SosAck.sos_id).subquery())
    query = (select(SosAlert.community_id, SosAlert.opened_at, first.c.at, SosAlert.acked_at)
             .outerjoin(first, first.c.sos_id == SosAlert.id)
             .where(SosAlert.opened_at >= lo, SosAlert.opened_at < hi, within(SosAlert.community_id, scope)))
    found: dict[int, list[float | None]] = defaultdict(list)
    for community_id, opened, first_ack, acked in session.execute(query):
        found[community_id].append(st.seconds_between(opened, first_ack or acked))
    return found


def _figures(counts: dict, accept: dict, arrival: dict, keep, sos: list[float | None] | None) -> dict:
    total = {name: sum(c[name] for k, c in counts.items() if keep(k)) for name in COUNTS}
    pick = lambda samples: (v for k, values in samples.items() if keep(k) for v in values)
    return {**total, "fulfilment_rate": st.fulfilment_rate(total["requests"], total["completed"], total["cancelled"]),
            "accept_minutes": st.percentiles(pick(accept)), "arrival_minutes": st.percentiles(pick(arrival)),
            "sos": None if sos is None else {
                "count": len(sos),
                "first_ack_seconds": st.percentiles((s for s in sos if s is not None), st.SOS_PERCENTILES)}}


def _rural(session: Session, scope: set[int] | None, lo: datetime, hi: datetime,
           service_type: ServiceType | None) -> dict:
    """Rural communities in view, those with a verified provider whose base reaches their point, their
    seniors, and the seniors among them with a visit completed in the period."""
    places = session.execute(select(Community.id, Community.lat, Community.lon).where(
        Community.kind == CommunityKind.RURAL, within(Community.id, scope))).all()
    if not places:
        return {"communities": 0, "communities_covered": 0, "seniors": 0, "seniors_covered": 0}
    ids = [p[0] for p in places]
    return {"communities": len(places), "communities_covered": _covered(session, places),
            "seniors": session.execute(select(func.count()).select_from(Senior).where(
                Senior.community_id.in_(ids))).scalar_one(),
            "seniors_covered": _served(session, ids, lo, hi, service_type)}


def _covered(session: Session, places: list) -> int:
    lats, lons = np.array([p[1] for p in places]), np.array([p[2] for p in places])
    box = (Provider.base_lat.between(lats.min() - MAX_RADIUS_DEG, lats.max() + MAX_RADIUS_DEG),
           Provider.base_lon.between(lons.min() - MAX_RADIUS_DEG * 1.2, lons.max() + MAX_RADIUS_DEG * 1.2))
    bases = np.array(session.execute(select(Provider.base_lat, Provider.base_lon, Provider.service_radius_km)
                                     .where(Provider.status == ProviderStatus.VERIFIED, *box)).all(), dtype=float)
    if bases.size == 0:
        return 0
    return sum(bool(np.any(great_circle_km_many(lat, lon, bases[:, 0], bases[:, 1]) <= bases[:, 2]))
               for lat, lon in zip(lats, lons))


def _served(session: Session, community_ids: list[int], lo: datetime, hi: datetime,
            service_type: ServiceType | None) -> int:
    query = (select(func.count(func.distinct(ServiceRequest.senior_id)))
             .join(Senior, Senior.id == ServiceRequest.senior_id)
             .where(Senior.community_id.in_(community_ids), ServiceRequest.status == RequestStatus.COMPLETED,
                    ServiceRequest.completed_at >= lo, ServiceRequest.completed_at < hi))
    if service_type is not None:
        query = query.where(ServiceRequest.service_type == service_type)
    return session.execute(query).scalar_one()


_HEADER = ["范围 Scope", "ID", "名称 Name", "类型 Kind", "服务单 Requests", "完成 Completed", "取消 Cancelled",
           "升级 Escalated", "完成率 Fulfilment rate", "接单分钟 Accept p50", "Accept p90", "Accept p95",
           "到达分钟 Arrival p50", "Arrival p90", "Arrival p95", "SOS 次数 SOS count", "首次响应秒 SOS ack p50",
           "SOS ack p90"]


def _line(scope: str, ident, name, kind, f) -> list:
    sos = f.sos
    return [scope, ident, name, kind, f.requests, f.completed, f.cancelled, f.escalated, f.fulfilment_rate,
            f.accept_minutes.p50, f.accept_minutes.p90, f.accept_minutes.p95, f.arrival_minutes.p50,
            f.arrival_minutes.p90, f.arrival_minutes.p95, None if sos is None else sos.count,
            None if sos is None else sos.first_ack_seconds.p50, None if sos is None else sos.first_ack_seconds.p90]


def stats_tables(stats: Stats) -> dict[str, list[list]]:
    """The statistics as tables for CSV: the figures (overall, per community, per service type), then rural."""
    rows = [["从 From", stats.from_.isoformat(), "到 To", stats.to.isoformat()], [], _HEADER,
            _line("overall", None, "合计 Overall", None, stats.overall)]
    rows += [_line("community", c.community_id, c.name, c.kind, c) for c in stats.by_community]
    rows += [_line("service_type", s.service_type.value, ServiceType(s.service_type).name_zh, None, s)
             for s in stats.by_service_type]
    rural = stats.rural
    return {"统计 Statistics": rows, "农村 Rural": [
        ["农村社区 Rural communities", "有服务覆盖 Covered", "农村老人 Seniors", "获服务老人 Seniors served"],
        [rural.communities, rural.communities_covered, rural.seniors, rural.seniors_covered]]}
