"""A plan's visits as requests: materialise them ahead (idempotently), cancel the future ones.

Materialising is one multi-row INSERT … ON CONFLICT (plan_id, occurrence_start) DO NOTHING: a
re-run, a catch-up after downtime or a second clock by mistake adds nothing twice. Visits are never
made in the past (the window starts at `now`). Never commits.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from dispatch.catalog import CareLevel
from dispatch.lifecycle import RequestStatus
from dispatch.recurrence import Segment, materialise_until, occurrences
from models.plans import Plan
from models.requests import ServiceRequest
from models.seniors import Senior
from models.types import local_zone
from server.steps import outbox
from server.steps.transitions import move
from server.steps.views import event_view
from server.steps.waves import withdraw_open_offers

_REQ = ServiceRequest.__table__
# Not yet begun: what a pause, an edit or the end of a plan may still take back.
NOT_BEGUN = (RequestStatus.PENDING, RequestStatus.OFFERING, RequestStatus.ESCALATED, RequestStatus.ASSIGNED)


def start_of(plan: Plan) -> datetime:
    """The plan's current DTSTART as a naive local time."""
    return datetime.fromisoformat(plan.start_local)


def segments_of(plan: Plan) -> list[Segment]:
    """The rules of a plan over time: the edited-away ones, then the current one."""
    earlier = [Segment(s["rule"], datetime.fromisoformat(s["start_local"]), s["duration_minutes"],
                       datetime.fromisoformat(s["valid_from"]), datetime.fromisoformat(s["valid_to"]))
               for s in plan.earlier_rules]
    return earlier + [Segment(plan.rrule, start_of(plan), plan.duration_minutes, plan.rule_from)]


def segment_json(seg: Segment) -> dict:
    """A segment as stored in Plan.earlier_rules."""
    return {"rule": seg.rule, "start_local": seg.start_local.isoformat(timespec="minutes"),
            "duration_minutes": seg.duration_minutes, "valid_from": seg.valid_from.isoformat(),
            "valid_to": seg.valid_to.isoformat()}


def _insert_ignoring_duplicates(session: Session):
    dialect = session.get_bind().dialect.name
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return make(_REQ).on_conflict_do_nothing(index_elements=["plan_id", "occurrence_start"])


_PRIORITY = {None: 0, **{level.value: level.rank for level in CareLevel}}


def materialise(session: Session, plans: list[Plan], *, now: datetime, zone: ZoneInfo | None = None,
                horizon: timedelta | None = None) -> int:
    """Insert the visits of active plans from now (or where each plan got to) to the end of the
    local day 14 days ahead; returns how many visits were new. Marks each plan materialised."""
    zone = zone or local_zone()
    end = materialise_until(now, zone) if horizon is None else materialise_until(now, zone, horizon)
    live = [p for p in plans if p.status == "active"]
    if not live:
        return 0
    care = _care_levels(session, {p.senior_id for p in live})
    rows = []
    for plan in live:
        lo = max(now, plan.materialised_until or now)
        if lo >= end:
            continue
        base = {"senior_id": plan.senior_id, "community_id": plan.community_id, "service_type": plan.service_type,
                "status": RequestStatus.PENDING, "asap": False, "notes": plan.notes,
                "priority": _PRIORITY.get(care.get(plan.senior_id), 0), "provider_id": None, "wave": 0,
                "created_by": plan.created_by, "created_at": now, "updated_at": now, "checkin_flagged": False,
                "plan_id": plan.id}
        for start, finish in occurrences(segments_of(plan), lo, end, zone, until=plan.until):
            rows.append({**base, "scheduled_start": start, "scheduled_end": finish, "occurrence_start": start,
                         "duration_minutes": int((finish - start).total_seconds() // 60)})
    added = 0
    if rows:
        result = session.execute(_insert_ignoring_duplicates(session), rows)
        added = result.rowcount if result.rowcount is not None and result.rowcount >= 0 else len(rows)
    session.execute(update(Plan).where(Plan.id.in_(bindparam("ids", expanding=True)))
                    .values(materialised_until=end), {"ids": [p.id for p in live]})
    return added


def _care_levels(session: Session, senior_ids: set[int]) -> dict[int, str | None]:
    ids = sorted(senior_ids)
    out: dict[int, str | None] = {}
    for i in range(0, len(ids), 5000):  # bound the IN list
        chunk = ids[i:i + 5000]
        out.update(session.execute(select(Senior.id, Senior.care_level).where(Senior.id.in_(chunk))).all())
    return {k: (v.value if hasattr(v, "value") else v) for k, v in out.items()}


def future_visits(session: Session, plan: Plan, since: datetime) -> list[ServiceRequest]:
    """The plan's visits starting at or after since that have not begun."""
    return list(session.execute(select(ServiceRequest).where(
        ServiceRequest.plan_id == plan.id, ServiceRequest.scheduled_start >= since,
        ServiceRequest.status.in_([s.value for s in NOT_BEGUN])).order_by(ServiceRequest.scheduled_start)).scalars())


def cancel_visit(session: Session, request: ServiceRequest, *, now: datetime, actor_id: int | None, reason: str,
                 release: bool) -> None:
    """Cancel one plan visit, withdraw its offers and tell everyone concerned. `release` frees its
    occurrence key (pause, edit, end: the time may come back); a skip keeps it (never re-made)."""
    withdraw_open_offers(session, request, now=now, reason="cancelled")
    provider_id = request.provider_id
    move(session, request, RequestStatus.CANCELLED, now=now, actor_id=actor_id, note=reason)
    request.cancelled_at, request.cancel_reason = now, reason
    if release:
        request.occurrence_start = None
    outbox.request_changed(session, request, event_view(request),
                           extra_users=(outbox.provider_user(session, provider_id),))


def cancel_future(session: Session, plan: Plan, since: datetime, *, now: datetime, actor_id: int | None,
                  reason: str, keep: set[datetime] = frozenset()) -> int:
    """Cancel the plan's visits from since on that have not begun (except those starting at a time
    in keep), releasing their keys; returns how many."""
    count = 0
    for request in future_visits(session, plan, max(since, now)):
        if request.scheduled_start.astimezone(timezone.utc) in keep:
            continue
        cancel_visit(session, request, now=now, actor_id=actor_id, reason=reason, release=True)
        count += 1
    return count
