"""每日平安 daily check-in: opt in with a deadline, tap 我很好, and the alerts when nobody did.

A senior who has neither checked in nor been seen by a visit (a provider's check-in at their home)
by their deadline raises an alert to their family; still unanswered an hour later, it goes to the
community's staff. With no family linked, staff are told at once. Only today's deadlines are
watched: a clock down over midnight does not raise yesterday's alerts afterwards.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlmodel import Session

from dispatch.recurrence import local_midnight
from models.accounts import User
from models.plans import (Checkin, CheckinAlert, CheckinPublic, CheckinSetting, CheckinSettingPublic,
                          CheckinSettingUpdate, MissingCheckin)
from models.requests import ServiceRequest
from models.seniors import Senior
from models.types import local_zone
from server.errors import Forbidden
from server.steps import outbox
from server.steps.access import SeniorAction, senior_for, staff_communities

ANSWER_WITHIN = timedelta(hours=1)


def set_checkin(*, session: Session, user: User, senior_id: int, data: CheckinSettingUpdate,
                now: datetime) -> CheckinSettingPublic:
    """Opt a senior in or out of the daily check-in (the senior, family with booking rights, staff)."""
    senior = senior_for(session=session, user=user, senior_id=senior_id, action=SeniorAction.BOOK)
    setting = session.get(CheckinSetting, senior.id) or CheckinSetting(senior_id=senior.id, deadline=data.deadline,
                                                                       community_id=senior.community_id,
                                                                       updated_by=user.id, updated_at=now)
    setting.enabled, setting.deadline = data.enabled, data.deadline
    setting.community_id, setting.updated_by, setting.updated_at = senior.community_id, user.id, now
    session.add(setting)
    session.commit()
    return CheckinSettingPublic(senior_id=senior.id, enabled=setting.enabled, deadline=setting.deadline)


def check_in(*, session: Session, user: User, senior_id: int, now: datetime) -> CheckinPublic:
    """我很好: today's check-in (a second tap returns the first); an open alert is answered and
    everyone told of it is told it is over."""
    senior = senior_for(session=session, user=user, senior_id=senior_id, action=SeniorAction.BOOK)
    day = now.astimezone(local_zone()).date()
    row = session.execute(select(Checkin).where(Checkin.senior_id == senior.id, Checkin.day == day)).scalar()
    if row is None:
        row = Checkin(senior_id=senior.id, day=day, at=now, by_user=user.id)
        session.add(row)
        alert = session.execute(select(CheckinAlert).where(CheckinAlert.senior_id == senior.id,
                                                           CheckinAlert.day == day,
                                                           CheckinAlert.resolved_at.is_(None))).scalar()
        if alert is not None:
            alert.resolved_at = now
            session.add(alert)
            _tell(session, senior, alert, "checkin_ok", staff=alert.staff_at is not None)
        session.flush()
    session.commit()
    return CheckinPublic(id=row.id, senior_id=row.senior_id, day=row.day, at=row.at)


def _deadline(setting: CheckinSetting, day: date) -> datetime:
    hh, mm = (int(x) for x in setting.deadline.split(":"))
    return datetime.combine(day, time(hh, mm), tzinfo=local_zone())


def _seen_today(session: Session, senior_ids: list[int], day: date) -> set[int]:
    """Seniors who checked in, or whom a provider checked in at, on the local day."""
    zone = local_zone()
    lo, hi = local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)
    seen = set(session.execute(select(Checkin.senior_id).where(Checkin.day == day,
                                                               Checkin.senior_id.in_(senior_ids))).scalars())
    seen |= set(session.execute(select(ServiceRequest.senior_id).where(
        ServiceRequest.senior_id.in_(senior_ids), ServiceRequest.checkin_at >= lo,
        ServiceRequest.checkin_at < hi)).scalars())
    return seen


def check_deadlines(*, session: Session, now: datetime) -> dict:
    """Clock job: alert family about today's missed check-ins, and staff about those an hour
    unanswered; idempotent (one alert per senior and day)."""
    day = now.astimezone(local_zone()).date()
    settings = [s for s in session.execute(select(CheckinSetting).where(CheckinSetting.enabled.is_(True))).scalars()
                if _deadline(s, day) <= now]
    alerts = {a.senior_id: a for a in session.execute(select(CheckinAlert).where(CheckinAlert.day == day)).scalars()}
    seen = _seen_today(session, [s.senior_id for s in settings], day) if settings else set()
    told = {"family": 0, "staff": 0, "answered": 0}
    for setting in settings:
        alert = alerts.get(setting.senior_id)
        if alert is not None and alert.resolved_at is not None:
            continue
        senior = session.get(Senior, setting.senior_id)
        if setting.senior_id in seen:
            if alert is not None:  # seen by a visit since the alert
                alert.resolved_at = now
                session.add(alert)
                _tell(session, senior, alert, "checkin_ok", staff=alert.staff_at is not None)
                told["answered"] += 1
            continue
        if alert is None:
            alert = CheckinAlert(senior_id=senior.id, community_id=senior.community_id, day=day, family_at=now)
            family = _family(session, senior)
            if not family:
                alert.staff_at = now
            session.add(alert)
            session.flush()
            _tell(session, senior, alert, "checkin_missed", staff=not family)
            told["family" if family else "staff"] += 1
        elif alert.staff_at is None and now - alert.family_at >= ANSWER_WITHIN:
            alert.staff_at = now
            session.add(alert)
            _tell(session, senior, alert, "checkin_missed", staff=True, family=False)
            told["staff"] += 1
    session.commit()
    return told


def _family(session: Session, senior: Senior) -> set[int]:
    return outbox.senior_side_users(session, senior) - {senior.user_id}


def _tell(session: Session, senior: Senior, alert: CheckinAlert, type_: str, *, staff: bool,
          family: bool = True) -> None:
    payload = {"senior_id": senior.id, "senior_name": senior.name, "day": alert.day.isoformat(),
               "family_at": alert.family_at.isoformat(), "staff_at": alert.staff_at and alert.staff_at.isoformat(),
               "resolved_at": alert.resolved_at and alert.resolved_at.isoformat()}
    if family:
        for user_id in sorted(_family(session, senior)):
            outbox.add_user_event(session, user_id, type_, {"checkin": payload})
    if staff:
        outbox.add_community_event(session, senior.community_id, type_, {"checkin": payload})


def missing_checkins(*, session: Session, user: User, day: date | None, now: datetime) -> list[MissingCheckin]:
    """Staff: the seniors of their communities who had not checked in by their deadline on day."""
    if not user.role.is_staff:
        raise Forbidden()
    day = day or now.astimezone(local_zone()).date()
    scope = staff_communities(session, user)
    query = select(CheckinSetting, Senior).join(Senior, Senior.id == CheckinSetting.senior_id).where(
        CheckinSetting.enabled.is_(True))
    if scope is not None:
        query = query.where(CheckinSetting.community_id.in_(scope or [-1]))
    rows = [(s, p) for s, p in session.execute(query).all() if _deadline(s, day) <= now]
    if not rows:
        return []
    seen = _seen_today(session, [s.senior_id for s, _ in rows], day)
    alerts = {a.senior_id: a for a in session.execute(select(CheckinAlert).where(
        CheckinAlert.day == day, CheckinAlert.senior_id.in_([s.senior_id for s, _ in rows]))).scalars()}
    out = []
    for setting, senior in sorted(rows, key=lambda r: (r[0].deadline, r[1].id)):
        if senior.id in seen:
            continue
        alert = alerts.get(senior.id)
        out.append(MissingCheckin(senior_id=senior.id, name=senior.name, community_id=senior.community_id,
                                  deadline=setting.deadline, family_alerted_at=alert and alert.family_at,
                                  staff_alerted_at=alert and alert.staff_at))
    return out
