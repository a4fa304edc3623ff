"""The community center's live operations: open requests, open SOS alerts and providers on duty,
read in a fixed handful of queries whatever the numbers (no query per row)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_
from sqlmodel import Session, select

from dispatch.catalog import ProviderStatus
from dispatch.lifecycle import OPEN_STATUSES, VISIT_STATUSES, RequestStatus, SosStatus
from dispatch.visits import coarse_area, is_overdue
from models.accounts import User
from models.live import LiveProvider, LiveRequest, LiveSnapshot
from models.providers import Provider
from models.requests import RequestPublic, ServiceRequest
from models.seniors import Senior
from models.sos import SosAck, SosAckPublic, SosAlert, SosPublic
from server.errors import Forbidden, NotFound
from server.steps.access import in_scope, staff_communities
from server.steps.views import with_provider_and_rating

# Open requests starting within this window (or already started) are live; escalated ones always are.
LIVE_AHEAD = timedelta(hours=24)
LIVE_LIMIT = 500  # rows per list, soonest first


def live_snapshot(*, session: Session, user: User, community_id: int | None, now: datetime) -> LiveSnapshot:
    """What the console shows now, for the staff's communities (or the one asked, if theirs)."""
    if not user.role.is_staff:
        raise Forbidden()
    scope = staff_communities(session, user)
    if community_id is not None:
        if not in_scope(scope, community_id):
            raise NotFound()
        scope = {community_id}
    return LiveSnapshot(at=now, requests=_open_requests(session, scope, now), sos=_open_sos(session, scope),
                        providers=_on_duty(session, scope))


def _within(column, scope: set[int] | None):
    return column.is_not(None) if scope is None else column.in_(scope)


def _open_requests(session: Session, scope: set[int] | None, now: datetime) -> list[LiveRequest]:
    rows = session.exec(
        select(ServiceRequest, Senior.name).join(Senior, Senior.id == ServiceRequest.senior_id)
        .where(_within(ServiceRequest.community_id, scope),
               ServiceRequest.status.in_([s.value for s in OPEN_STATUSES]),
               or_(ServiceRequest.scheduled_start < now + LIVE_AHEAD,
                   ServiceRequest.status == RequestStatus.ESCALATED.value))
        .order_by(ServiceRequest.scheduled_start, ServiceRequest.id).limit(LIVE_LIMIT)).all()
    views = with_provider_and_rating(session, [RequestPublic.model_validate(r, from_attributes=True)
                                               for r, _name in rows])
    return [LiveRequest(**view.model_dump(), overdue=is_overdue(r.status, r.scheduled_start, now)).model_copy(
        update={"senior_name": name}) for view, (r, name) in zip(views, rows)]


def _open_sos(session: Session, scope: set[int] | None) -> list[SosPublic]:
    rows = session.exec(
        select(SosAlert, Senior.name).join(Senior, Senior.id == SosAlert.senior_id)
        .where(_within(SosAlert.community_id, scope), SosAlert.status != SosStatus.RESOLVED.value)
        .order_by(SosAlert.opened_at.desc(), SosAlert.id.desc()).limit(LIVE_LIMIT)).all()
    acks: dict[int, list[SosAckPublic]] = {}
    if rows:
        for ack, name in session.exec(select(SosAck, User.name).join(User, User.id == SosAck.user_id)
                                      .where(SosAck.sos_id.in_([a.id for a, _ in rows]))
                                      .order_by(SosAck.at, SosAck.id)).all():
            acks.setdefault(ack.sos_id, []).append(SosAckPublic(user_id=ack.user_id, role=ack.role, at=ack.at,
                                                                name=name))
    return [SosPublic.model_validate(a, from_attributes=True).model_copy(update={
        "senior_name": name, "created_at": a.opened_at, "acks": acks.get(a.id, [])}) for a, name in rows]


def _on_duty(session: Session, scope: set[int] | None) -> list[LiveProvider]:
    rows = session.exec(
        select(Provider.id, Provider.name, Provider.services, Provider.base_lat, Provider.base_lon,
               Provider.duty_lat, Provider.duty_lon)
        .where(_within(Provider.community_id, scope), Provider.on_duty.is_(True),
               Provider.status == ProviderStatus.VERIFIED.value)
        .order_by(Provider.id).limit(LIVE_LIMIT)).all()
    load = dict(session.exec(
        select(ServiceRequest.provider_id, func.count())
        .where(ServiceRequest.provider_id.in_([p.id for p in rows]),
               ServiceRequest.status.in_([s.value for s in VISIT_STATUSES]))
        .group_by(ServiceRequest.provider_id)).all()) if rows else {}
    out = []
    for p in rows:
        lat, lon = coarse_area(*((p.duty_lat, p.duty_lon) if p.duty_lat is not None else (p.base_lat, p.base_lon)))
        out.append(LiveProvider(id=p.id, name=p.name, services=p.services, lat=lat, lon=lon, on_duty=True,
                                active_load=load.get(p.id, 0)))
    return out
