"""Clock jobs over upcoming visits: batch assignment of plan visits, reminders, late care visits.

Assignment runs on the plan visits about to enter the dispatch horizon (48 h ahead, when the
sweeper would offer them to waves): from there to the end of the local day 72 h ahead, so the
first run after local midnight takes a whole new day in one batch. Continuity first, then least
travel (dispatch.assignment). Each visit is offered to its one chosen provider, who confirms; a
decline or a timeout leaves the sweeper to open waves as for any visit. A visit nobody can take is
escalated to staff there and then, two days or more ahead, not at the door.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from dispatch.assignment import Visit, Worker, assign_visits
from dispatch.catalog import ProviderStatus, ServiceType
from dispatch.lifecycle import VISIT_STATUSES, OfferStatus, RequestStatus
from dispatch.recurrence import local_midnight
from models.places import Community
from models.plans import Plan, PlanKind, VisitNotice
from models.providers import Provider
from models.requests import Offer, ServiceRequest
from models.seniors import Senior
from models.types import local_zone
from server.steps import outbox
from server.steps.directory import ProviderDirectory
from server.steps.transitions import move
from server.steps.views import event_view
from server.steps.waves import DISPATCH_HORIZON, escalate, offer_view

ASSIGN_AHEAD = timedelta(hours=72)
BATCH_OFFER_TTL = timedelta(hours=6)
CANDIDATES = 32
HISTORY = timedelta(days=180)


def _window(now: datetime) -> tuple[datetime, datetime]:
    zone = local_zone()
    return now + DISPATCH_HORIZON, local_midnight((now + ASSIGN_AHEAD).astimezone(zone).date() + timedelta(days=1),
                                                   zone)


def assign_plan_visits(*, session: Session, directory: ProviderDirectory, now: datetime) -> dict:
    """Offer each unassigned plan visit of the next day to dispatch to one chosen provider
    (continuity first, then least travel); escalate those nobody can take. Tells each provider."""
    lo, hi = _window(now)
    rows = session.execute(
        select(ServiceRequest, Senior, Plan.preferred_provider_id)
        .join(Senior, Senior.id == ServiceRequest.senior_id).join(Plan, Plan.id == ServiceRequest.plan_id)
        .where(ServiceRequest.status == RequestStatus.PENDING.value, ServiceRequest.first_offer_at.is_(None),
               ServiceRequest.scheduled_start >= lo, ServiceRequest.scheduled_start < hi)
        .order_by(ServiceRequest.scheduled_start)
        # A second clock by mistake (PostgreSQL) passes over the visits this one holds; SQLite has one writer.
        .with_for_update(of=ServiceRequest, skip_locked=True)).all()
    if not rows:
        session.rollback()
        return {"offered": 0, "continuity": 0, "escalated": 0}
    last = _last_served(session, {s.id for _, s, _ in rows}, now)
    visits = [Visit(r.id, ServiceType(r.service_type), s.lat, s.lon, r.scheduled_start, r.scheduled_end,
                    tuple(p for p in (pref, last.get((s.id, str(r.service_type)))) if p is not None))
              for r, s, pref in rows]
    workers, users = _workers(session, directory, visits, lo, hi, now)
    result = assign_visits(visits, workers, zone=local_zone())
    by_id = {r.id: (r, s) for r, s, _ in rows}
    names = dict(session.execute(select(Community.id, Community.name)
                                 .where(Community.id.in_({r.community_id for r, _, _ in rows}))).all())
    for visit_id, pid in result.chosen.items():
        request, senior = by_id[visit_id]
        _offer(session, request, senior, pid, users[pid], km=result.km[visit_id],
               continuity=visit_id in result.by_continuity, community=names.get(request.community_id), now=now)
    for visit_id in result.unassigned:
        escalate(session, by_id[visit_id][0], now=now, reason="no_provider_for_plan_visit")
    session.commit()
    return {"offered": len(result.chosen), "continuity": len(result.by_continuity),
            "escalated": len(result.unassigned)}


def _last_served(session: Session, senior_ids: set[int], now: datetime) -> dict[tuple[int, str], int]:
    """The provider who last completed a visit, per (senior, service type)."""
    rows = session.execute(
        select(ServiceRequest.senior_id, ServiceRequest.service_type, ServiceRequest.provider_id)
        .where(ServiceRequest.status == RequestStatus.COMPLETED.value, ServiceRequest.senior_id.in_(senior_ids),
               ServiceRequest.completed_at >= now - HISTORY).order_by(ServiceRequest.completed_at)).all()
    return {(sid, str(t)): pid for sid, t, pid in rows if pid is not None}


def _workers(session: Session, directory: ProviderDirectory, visits: list[Visit], lo: datetime, hi: datetime,
             now: datetime) -> tuple[list[Worker], dict[int, int]]:
    """The providers near any visit (and every continuity one), with their committed visits."""
    ids: set[int] = set()
    for v in visits:
        ids.update(directory.candidates(v.service_type, v.lat, v.lon, now, limit=CANDIDATES))
        ids.update(v.continuity)
    ids = sorted(ids)
    providers = []
    for i in range(0, len(ids), 5000):
        providers += session.execute(select(Provider).where(Provider.id.in_(ids[i:i + 5000]),
                                                            Provider.status == ProviderStatus.VERIFIED.value)
                                     ).scalars().all()
    busy: dict[int, list] = {}
    for pid, start, end in session.execute(
            select(ServiceRequest.provider_id, ServiceRequest.scheduled_start, ServiceRequest.scheduled_end)
            .where(ServiceRequest.provider_id.in_([p.id for p in providers]),
                   ServiceRequest.status.in_([s.value for s in VISIT_STATUSES]),
                   ServiceRequest.scheduled_end > lo - timedelta(days=1), ServiceRequest.scheduled_start < hi)):
        busy.setdefault(pid, []).append((start, end))
    workers = [Worker(p.id, frozenset(ServiceType(s) for s in p.services), p.base_lat, p.base_lon,
                      p.service_radius_km, tuple(busy.get(p.id, ()))) for p in providers]
    return workers, {p.id: p.user_id for p in providers}


def _offer(session: Session, request: ServiceRequest, senior: Senior, provider_id: int, user_id: int, *, km: float,
           continuity: bool, community: str | None, now: datetime) -> None:
    reason = ({"code": "continuity", "label_zh": "熟悉的服务人员（计划指定或上次服务）",
               "label_en": "continuity: the plan's preferred or last provider", "points": 0.0} if continuity else
              {"code": "batch", "label_zh": f"统一排班：距离 {km:.1f} 公里", "label_en": f"day plan: {km:.1f} km away",
               "points": 0.0})
    ttl = min(BATCH_OFFER_TTL, (request.scheduled_start - now) / 2)
    offer = Offer(request_id=request.id, provider_id=provider_id, wave=1, status=OfferStatus.OFFERED, score=0.0,
                  distance_km=round(km, 2), reasons=[reason], created_at=now, expires_at=now + ttl)
    session.add(offer)
    move(session, request, RequestStatus.OFFERING, now=now, actor_id=None, note=reason["code"])
    request.wave, request.first_offer_at = 1, now
    session.flush()
    payload = offer_view(offer, request, senior, community).model_dump(mode="json")
    outbox.add_user_event(session, user_id, "offer_created", {"offer": payload})
    outbox.request_changed(session, request, event_view(request))


# --- reminders and late care visits ----------------------------------------------------------

EVENING_AT = (20, 0)  # the evening before, from 20:00 local
HOUR_BEFORE = timedelta(hours=1)
LATE_AFTER = timedelta(minutes=30)  # 关爱探访 not begun 30 min after its time: the provider, then staff
_REMINDABLE = (RequestStatus.PENDING, RequestStatus.OFFERING, RequestStatus.ESCALATED, RequestStatus.ASSIGNED)
_NOT_BEGUN = (*_REMINDABLE,)


def _claim(session: Session, request_id: int, kind: str, now: datetime) -> bool:
    """Record a notice once; False when it was already sent (by this clock or another)."""
    table = VisitNotice.__table__
    make = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = make(table).values(request_id=request_id, kind=kind, sent_at=now).on_conflict_do_nothing(
        index_elements=["request_id", "kind"]).returning(table.c.id)
    return session.execute(stmt).first() is not None


def _not_sent(kind: str):
    return ~exists().where(and_(VisitNotice.request_id == ServiceRequest.id, VisitNotice.kind == kind))


def send_reminders(*, session: Session, now: datetime) -> dict:
    """Remind the provider and the senior's side of each scheduled visit: the evening before (from
    20:00 local) and an hour before. Each reminder goes once, however often this runs."""
    zone = local_zone()
    local = now.astimezone(zone)
    due: list[tuple[ServiceRequest, str]] = []
    if (local.hour, local.minute) >= EVENING_AT:
        tomorrow = local_midnight(local.date() + timedelta(days=1), zone)
        lo = max(tomorrow, now + HOUR_BEFORE)
        due += [(r, "reminder_evening") for r in _upcoming(session, lo, tomorrow + timedelta(days=1),
                                                           "reminder_evening")]
    due += [(r, "reminder_hour") for r in _upcoming(session, now, now + HOUR_BEFORE, "reminder_hour")]
    sent = 0
    for request, kind in due:
        if _claim(session, request.id, kind, now):
            senior = session.get(Senior, request.senior_id)
            users = outbox.senior_side_users(session, senior) | {outbox.provider_user(session, request.provider_id)}
            payload = {"request": event_view(request), "kind": kind}
            for user_id in sorted(u for u in users if u is not None):
                outbox.add_user_event(session, user_id, "visit_reminder", payload)
            sent += 1
    session.commit()
    return {"reminders": sent}


def _upcoming(session: Session, lo: datetime, hi: datetime, kind: str) -> list[ServiceRequest]:
    if lo >= hi:
        return []
    return list(session.execute(select(ServiceRequest).where(
        ServiceRequest.asap.is_(False), ServiceRequest.status.in_([s.value for s in _REMINDABLE]),
        ServiceRequest.scheduled_start > lo, ServiceRequest.scheduled_start <= hi, _not_sent(kind))).scalars())


def alert_late_care_visits(*, session: Session, now: datetime) -> dict:
    """关爱探访 not begun 30 minutes after its time: tell the provider (staff at once if nobody has
    it); still not begun 30 minutes later: tell the community's staff."""
    rows = session.execute(
        select(ServiceRequest).join(Plan, Plan.id == ServiceRequest.plan_id)
        .where(Plan.kind == PlanKind.CARE_VISIT.value,
               ServiceRequest.status.in_([s.value for s in (*_NOT_BEGUN, RequestStatus.EN_ROUTE)]),
               ServiceRequest.scheduled_start <= now - LATE_AFTER,
               ServiceRequest.scheduled_start > now - timedelta(days=1))).scalars().all()
    told = {"provider": 0, "staff": 0}
    for request in rows:
        late = (now - request.scheduled_start) // timedelta(minutes=1)
        payload = {"request": event_view(request), "minutes_late": int(late)}
        provider_user = outbox.provider_user(session, request.provider_id)
        if provider_user is not None and _claim(session, request.id, "late_provider", now):
            outbox.add_user_event(session, provider_user, "care_visit_late", payload)
            told["provider"] += 1
        staff_due = provider_user is None or request.scheduled_start <= now - 2 * LATE_AFTER
        if staff_due and _claim(session, request.id, "late_staff", now):
            outbox.add_community_event(session, request.community_id, "care_visit_late", payload)
            told["staff"] += 1
    session.commit()
    return told

