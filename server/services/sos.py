"""SOS: one call alerts family, the community's staff and the nearest on-duty providers."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from dispatch.catalog import ProviderStatus, Role
from dispatch.lifecycle import SosStatus
from dispatch.sos import SOS_LIMIT, SOS_RADIUS_KM, nearest_responders, sos_needs_escalation
from models.accounts import User
from models.providers import Provider
from models.seniors import Senior
from models.sos import SosAck, SosAckPublic, SosAlert, SosCreate, SosPublic
from server.errors import NotFound
from server.steps import outbox
from server.steps.access import SeniorAction, provider_of, senior_for
from server.steps.directory import positioned_near, snapshot
from server.steps.scopes import sos_in_view
from server.steps.transitions import invalid_transition, move_sos


def raise_sos(*, session: Session, user: User, data: SosCreate, now: datetime) -> tuple[SosPublic, bool]:
    """Open an SOS for a senior and alert linked family, community staff and nearby on-duty providers.
    While the senior has an open alert, that alert is returned instead (created False)."""
    senior = senior_for(session=session, user=user, senior_id=data.senior_id, action=SeniorAction.READ)
    already = _open_alert(session, senior.id)
    if already is not None:
        return SosPublic.model_validate(sos_view(session, already, senior)), False
    located = data.lat is not None and data.lon is not None
    lat, lon = (data.lat, data.lon) if located else (senior.lat, senior.lon)
    responders = nearest_responders(_on_duty_near(session, lat, lon), lat, lon, now=now,
                                     limit=SOS_LIMIT, radius_km=SOS_RADIUS_KM)
    alert = SosAlert(senior_id=senior.id, community_id=senior.community_id, lat=lat, lon=lon,
                     located_by="device" if located else "home", opened_by=user.id, opened_at=now,
                     responders=[{"provider_id": pid, "km": round(km, 2)} for pid, km in responders])
    try:
        with session.begin_nested():  # a racing SOS for the same senior (PostgreSQL) waits, then fails here
            session.add(alert)
            session.flush()
    except IntegrityError:
        session.rollback()
        return SosPublic.model_validate(sos_view(session, _open_alert(session, senior.id), senior)), False
    view = sos_view(session, alert, senior)
    users = outbox.senior_side_users(session, senior) | {user.id}
    users |= {outbox.provider_user(session, pid) for pid, _ in responders}
    for user_id in sorted(users):
        outbox.add_user_event(session, user_id, "sos_alert", {"sos": view})
    outbox.add_community_event(session, senior.community_id, "sos_alert", {"sos": view})
    outbox.dashboard_changed(session, senior.community_id, "sos")
    session.commit()
    return SosPublic.model_validate(view), True


def _open_alert(session: Session, senior_id: int) -> SosAlert | None:
    return session.exec(select(SosAlert).where(SosAlert.senior_id == senior_id,
                                               SosAlert.status != SosStatus.RESOLVED.value)).first()


def get_sos(*, session: Session, user: User, sos_id: int) -> SosPublic:
    """One alert with who has acknowledged it, for anyone it was sent to."""
    alert, senior = _alert_for(session, user, sos_id)
    return SosPublic.model_validate(sos_view(session, alert, senior))


def list_sos(*, session: Session, user: User, status: str, now: datetime, limit: int = 100) -> list[SosPublic]:
    """Open (status "open": open or acknowledged) or recent alerts in the caller's view, newest first:
    staff their communities, family and seniors theirs, a provider the alerts sent to them."""
    query = select(SosAlert).where(sos_in_view(session, user, now=now))
    if status == "open":
        query = query.where(SosAlert.status != SosStatus.RESOLVED.value)
    rows = session.exec(query.order_by(SosAlert.id.desc()).limit(limit if user.role != Role.PROVIDER else 500)).all()
    if user.role == Role.PROVIDER:
        mine = provider_of(session, user)
        rows = [a for a in rows if mine is not None and mine.id in {r["provider_id"] for r in a.responders}][:limit]
    seniors = {s.id: s for s in session.exec(select(Senior).where(Senior.id.in_({a.senior_id for a in rows})))}
    return [SosPublic.model_validate(sos_view(session, a, seniors[a.senior_id])) for a in rows]


def _on_duty_near(session: Session, lat: float, lon: float) -> dict:
    """Verified on-duty providers whose current or base position lies in the SOS box."""
    rows = session.exec(select(Provider).where(
        Provider.on_duty.is_(True), Provider.status == ProviderStatus.VERIFIED.value,
        positioned_near(lat, lon, SOS_RADIUS_KM))).all()
    return {p.id: snapshot(p, []) for p in rows}


def acknowledge_sos(*, session: Session, user: User, sos_id: int, now: datetime) -> SosPublic:
    """Someone alerted says they are on it: staff, linked family, or an alerted provider."""
    alert, senior = _alert_for(session, user, sos_id)
    if alert.status == SosStatus.RESOLVED:
        raise invalid_transition(alert.status, SosStatus.ACKNOWLEDGED)
    seen = session.exec(select(SosAck.id).where(SosAck.sos_id == alert.id, SosAck.user_id == user.id)).first()
    if seen is None:  # each person once; everyone alerted sees who has seen it
        session.add(SosAck(sos_id=alert.id, user_id=user.id, role=str(user.role), at=now))
        if alert.acked_at is None:
            move_sos(session, alert, SosStatus.ACKNOWLEDGED)
            alert.acked_at, alert.acked_by = now, user.id
        session.flush()
        _announce(session, alert, senior)
    session.commit()
    return SosPublic.model_validate(sos_view(session, alert, senior))


def resolve_sos(*, session: Session, user: User, sos_id: int, note: str, now: datetime) -> SosPublic:
    """Close an SOS with what happened (staff or linked family)."""
    alert, senior = _alert_for(session, user, sos_id)
    if user.role == Role.PROVIDER:
        raise NotFound()
    move_sos(session, alert, SosStatus.RESOLVED)
    alert.resolved_at, alert.resolved_by, alert.note = now, user.id, note
    alert.acked_at = alert.acked_at or now
    _announce(session, alert, senior)
    session.commit()
    return SosPublic.model_validate(sos_view(session, alert, senior))


def escalate_unacknowledged(*, session: Session, now: datetime) -> int:
    """Sweeper: re-alert staff and family about every SOS nobody acknowledged in time."""
    count = 0
    for alert in session.exec(select(SosAlert).where(SosAlert.status == SosStatus.OPEN.value)).all():
        if sos_needs_escalation(alert.opened_at, alert.acked_at, alert.last_escalated_at, now):
            alert.escalations += 1
            alert.last_escalated_at = now
            session.add(alert)
            _announce(session, alert, session.get(Senior, alert.senior_id), type_="sos_alert")
            count += 1
    session.commit()
    return count


def _alert_for(session: Session, user: User, sos_id: int) -> tuple[SosAlert, Senior]:
    alert = session.get(SosAlert, sos_id)
    if alert is None:
        raise NotFound()
    if user.role == Role.PROVIDER:
        mine = provider_of(session, user)
        if mine is None or mine.id not in {r["provider_id"] for r in alert.responders}:
            raise NotFound()
        return alert, session.get(Senior, alert.senior_id)
    return alert, senior_for(session=session, user=user, senior_id=alert.senior_id, action=SeniorAction.READ)


def _announce(session: Session, alert: SosAlert, senior: Senior, type_: str = "sos_updated") -> None:
    view = sos_view(session, alert, senior)
    users = outbox.senior_side_users(session, senior) | {alert.opened_by}
    users |= {outbox.provider_user(session, r["provider_id"]) for r in alert.responders}
    for user_id in sorted(u for u in users if u is not None):
        outbox.add_user_event(session, user_id, type_, {"sos": view})
    outbox.add_community_event(session, alert.community_id, type_, {"sos": view})
    outbox.dashboard_changed(session, alert.community_id, "sos")


def sos_view(session: Session, alert: SosAlert, senior: Senior) -> dict:
    """The alert as everyone alerted sees it (name and position: they need them to help), with
    who has acknowledged it."""
    acks = session.exec(select(SosAck, User.name).join(User, User.id == SosAck.user_id)
                        .where(SosAck.sos_id == alert.id).order_by(SosAck.at, SosAck.id)).all()
    view = SosPublic.model_validate(alert, from_attributes=True).model_copy(update={
        "senior_name": senior.name, "created_at": alert.opened_at,
        "acks": [SosAckPublic(user_id=a.user_id, role=a.role, at=a.at, name=name) for a, name in acks]})
    return view.model_dump(mode="json")
