"""SOS: one call alerts family, the community's staff and the nearest on-duty providers."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from dispatch.catalog import ProviderStatus, Role
from dispatch.lifecycle import SosStatus
from dispatch.sos import SOS_LIMIT, SOS_RADIUS_KM, nearest_responders, sos_needs_escalation
from models.accounts import User
from models.providers import Provider
from models.seniors import Senior
from models.sos import SosAlert, SosCreate, SosPublic
from server.errors import NotFound
from server.steps import outbox
from server.steps.access import SeniorAction, provider_of, senior_for
from server.steps.directory import positioned_near, snapshot
from server.steps.transitions import invalid_transition, move_sos


def raise_sos(*, session: Session, user: User, data: SosCreate, now: datetime) -> SosPublic:
    """Open an SOS for a senior and alert linked family, community staff and nearby on-duty providers."""
    senior = senior_for(session=session, user=user, senior_id=data.senior_id, action=SeniorAction.READ)
    located = data.lat is not None and data.lon is not None
    lat, lon = (data.lat, data.lon) if located else (senior.lat, senior.lon)
    responders = nearest_responders(_on_duty_near(session, lat, lon), lat, lon, now=now,
                                     limit=SOS_LIMIT, radius_km=SOS_RADIUS_KM)
    alert = SosAlert(senior_id=senior.id, community_id=senior.community_id, lat=lat, lon=lon,
                     located_by="device" if located else "home", opened_by=user.id, opened_at=now,
                     responders=[{"provider_id": pid, "km": round(km, 2)} for pid, km in responders])
    session.add(alert)
    session.flush()
    view = sos_view(alert, senior)
    users = outbox.senior_side_users(session, senior) | {user.id}
    users |= {outbox.provider_user(session, pid) for pid, _ in responders}
    for user_id in sorted(users):
        outbox.add_user_event(session, user_id, "sos_alert", {"sos": view})
    outbox.add_community_event(session, senior.community_id, "sos_alert", {"sos": view})
    session.commit()
    return SosPublic.model_validate(view)


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
    if alert.acked_at is None:
        move_sos(session, alert, SosStatus.ACKNOWLEDGED)
        alert.acked_at, alert.acked_by = now, user.id
        _announce(session, alert, senior)
    session.commit()
    return SosPublic.model_validate(sos_view(alert, senior))


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
    return SosPublic.model_validate(sos_view(alert, senior))


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
    view = sos_view(alert, senior)
    users = outbox.senior_side_users(session, senior) | {alert.opened_by}
    users |= {outbox.provider_user(session, r["provider_id"]) for r in alert.responders}
    for user_id in sorted(u for u in users if u is not None):
        outbox.add_user_event(session, user_id, type_, {"sos": view})
    outbox.add_community_event(session, alert.community_id, type_, {"sos": view})


def sos_view(alert: SosAlert, senior: Senior) -> dict:
    """The alert as everyone alerted sees it (name and position: they need them to help)."""
    view = SosPublic.model_validate(alert, from_attributes=True).model_copy(update={"senior_name": senior.name})
    return view.model_dump(mode="json")
