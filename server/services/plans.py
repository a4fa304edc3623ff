"""Recurring care plans: create, read, pause/resume, edit from a date, skip one visit, end.

Each use case commits once; the plan's visits for the next 14 days are materialised in the same
transaction, so a new plan's visits are listed at once. The clock job (`materialise_plans`) moves
every active plan's window on by a day, in batches of plans.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlmodel import Session, select

from dispatch.lifecycle import PlanStatus, RequestStatus
from dispatch.recurrence import (RuleError, Segment, check_rule, local_midnight, materialise_until, occurrences,
                                 same_day_clashes)
from models.accounts import User
from models.plans import OccurrencePublic, Plan, PlanCreate, PlanPublic, PlanUpdate
from models.providers import Provider
from models.requests import ServiceRequest
from models.seniors import Senior
from models.types import local_zone
from server.errors import NotFound, field_error
from server.steps.access import SeniorAction, senior_for
from server.steps.occurrences import (cancel_future, cancel_visit, materialise, plans_behind, segment_json,
                                      segments_of, start_of)
from server.steps.scopes import plans_in_view
from server.steps.transitions import invalid_transition, move_plan

MAX_START_AHEAD = timedelta(days=365)
CLASH_LOOKAHEAD = timedelta(days=366)
MAX_RANGE = timedelta(days=92)


def _local(moment: datetime) -> datetime:
    return moment.astimezone(local_zone()).replace(tzinfo=None, second=0, microsecond=0)


def _check(session: Session, *, senior_id: int, service_type, rule: str, start: datetime, until: datetime | None,
           now: datetime, plan_id: int | None = None, valid_from: datetime | None = None) -> None:
    """422 for a rule a plan can't use, or one that would add a second visit of this type on a day."""
    try:
        check_rule(rule, _local(start), _local(until) if until else None)
    except RuleError as exc:
        raise field_error("rrule", str(exc), code="invalid_rrule") from None
    if valid_from is None and not now - timedelta(days=1) <= start <= now + MAX_START_AHEAD:
        raise field_error("start", "须在一年之内 / start must be within the coming year")
    zone, lo = local_zone(), max(now, start, valid_from or start)
    mine = occurrences([Segment(rule, _local(start), 60, start)], lo, lo + CLASH_LOOKAHEAD, zone, until=until)
    others = session.exec(select(Plan).where(Plan.senior_id == senior_id, Plan.service_type == service_type,
                                             Plan.status != PlanStatus.ENDED.value)).all()
    for other in others:
        if other.id == plan_id:
            continue
        theirs = occurrences(segments_of(other), lo, lo + CLASH_LOOKAHEAD, zone, until=other.until)
        clashes = same_day_clashes(mine, theirs, zone)
        if clashes:
            raise field_error("rrule", f"与计划 {other.id} 在 {clashes[0]} 同一天重复同类服务 / a second visit of this "
                              f"type on {clashes[0]} (plan {other.id}): at most one a day", code="plan_clash")


def _until(until: datetime | None) -> datetime | None:
    """A plan's end, exclusive; a bare date (local midnight) means through the end of that day."""
    if until is None:
        return None
    local = until.astimezone(local_zone())
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return local_midnight(local.date() + timedelta(days=1), local_zone())
    return until


def _provider_exists(session: Session, provider_id: int | None) -> None:
    if provider_id is not None and session.get(Provider, provider_id) is None:
        raise field_error("preferred_provider_id", "没有这位服务人员 / no such provider")


def create_plan(*, session: Session, user: User, data: PlanCreate, now: datetime) -> PlanPublic:
    """A recurring plan for a senior (themself, family with booking rights, or the community's
    staff); its visits for the next 14 days are made at once."""
    senior = senior_for(session=session, user=user, senior_id=data.senior_id, action=SeniorAction.BOOK)
    until = _until(data.until)
    _check(session, senior_id=senior.id, service_type=data.service_type, rule=data.rrule, start=data.start,
           until=until, now=now)
    _provider_exists(session, data.preferred_provider_id)
    plan = Plan(senior_id=senior.id, community_id=senior.community_id, service_type=data.service_type,
                kind=data.kind, rrule=data.rrule.strip().removeprefix("RRULE:"),
                start_local=_local(data.start).isoformat(timespec="minutes"), duration_minutes=data.duration_minutes,
                rule_from=data.start, until=until, preferred_provider_id=data.preferred_provider_id,
                notes=data.notes, created_by=user.id, created_at=now, updated_at=now)
    session.add(plan)
    session.flush()
    materialise(session, [plan], now=now)
    session.commit()
    return plan_view(plan)


def get_plan(*, session: Session, user: User, plan_id: int) -> PlanPublic:
    """One plan, for whoever may see its senior."""
    return plan_view(_plan_for(session, user, plan_id, SeniorAction.READ))


def list_plans(*, session: Session, user: User, senior_id: int | None, limit: int = 200,
               offset: int = 0) -> list[PlanPublic]:
    """A senior's plans, newest first; without senior_id every plan in the caller's view (staff: their
    communities'), with the senior's name."""
    if senior_id is not None:
        senior_for(session=session, user=user, senior_id=senior_id, action=SeniorAction.READ)
        rows = session.exec(select(Plan).where(Plan.senior_id == senior_id).order_by(Plan.id.desc())).all()
        return [plan_view(p) for p in rows]
    rows = session.exec(select(Plan, Senior.name).join(Senior, Senior.id == Plan.senior_id)
                        .where(plans_in_view(session, user)).order_by(Plan.id.desc()).limit(limit).offset(offset)).all()
    return [plan_view(p).model_copy(update={"senior_name": name}) for p, name in rows]


def update_plan(*, session: Session, user: User, plan_id: int, data: PlanUpdate, now: datetime) -> PlanPublic:
    """Pause or resume, or change the rule from a date on (visits before it keep the old rule)."""
    plan = _plan_for(session, user, plan_id, SeniorAction.BOOK)
    if plan.status == PlanStatus.ENDED:
        raise invalid_transition(plan.status, PlanStatus.ACTIVE)
    fields = data.model_fields_set
    if fields & {"rrule", "start", "duration_minutes", "until", "preferred_provider_id", "notes"}:
        _edit(session, user, plan, data, now)
    if "paused" in fields and data.paused is not None:
        _pause_or_resume(session, user, plan, data.paused, now)
    session.commit()
    return plan_view(plan)


def _edit(session: Session, user: User, plan: Plan, data: PlanUpdate, now: datetime) -> None:
    zone = local_zone()
    day = data.effective_from or now.astimezone(zone).date()
    if day < now.astimezone(zone).date():
        raise field_error("effective_from", "不能修改过去 / the past cannot be edited")
    cut = max(local_midnight(day, zone), now)
    old_start = start_of(plan)
    # Without a new start the rule keeps its DTSTART (a weekly rule keeps its weekday, a count its origin).
    new_start = _local(data.start) if data.start is not None else old_start
    rule = (data.rrule or plan.rrule).strip().removeprefix("RRULE:")
    until = _until(data.until) if "until" in data.model_fields_set else plan.until
    start_utc = new_start.replace(tzinfo=zone).astimezone(timezone.utc)
    _check(session, senior_id=plan.senior_id, service_type=plan.service_type, rule=rule, start=start_utc,
           until=until, now=now, plan_id=plan.id, valid_from=cut if data.start is None else None)
    _provider_exists(session, data.preferred_provider_id)
    keep_times = {s for s, _ in occurrences([Segment(rule, new_start, data.duration_minutes or plan.duration_minutes,
                                                     cut)], cut, cut + timedelta(days=30), zone, until=until)}
    duration_same = data.duration_minutes in (None, plan.duration_minutes)
    if cut > plan.rule_from:  # the rule so far stays in force until the cut
        old = segments_of(plan)[-1]
        plan.earlier_rules = [*plan.earlier_rules, segment_json(Segment(old.rule, old.start_local,
                                                                        old.duration_minutes, old.valid_from, cut))]
    plan.rrule, plan.start_local, plan.rule_from, plan.until = rule, new_start.isoformat(timespec="minutes"), cut, until
    plan.duration_minutes = data.duration_minutes or plan.duration_minutes
    if "preferred_provider_id" in data.model_fields_set:
        plan.preferred_provider_id = data.preferred_provider_id
    if "notes" in data.model_fields_set:
        plan.notes = data.notes
    plan.updated_at, plan.materialised_until = now, None
    # Visits from the cut that the new rule no longer has are taken back; those it keeps stay as they are.
    cancel_future(session, plan, cut, now=now, actor_id=user.id, reason="plan_changed",
                  keep=keep_times if duration_same else set())
    session.add(plan)
    session.flush()
    materialise(session, [plan], now=now)


def _pause_or_resume(session: Session, user: User, plan: Plan, paused: bool, now: datetime) -> None:
    target = PlanStatus.PAUSED if paused else PlanStatus.ACTIVE
    if plan.status == target:
        return
    move_plan(session, plan, target, now=now)
    if paused:
        cancel_future(session, plan, now, now=now, actor_id=user.id, reason="plan_paused")
    else:
        plan.materialised_until = None
        session.flush()
        materialise(session, [plan], now=now)


def delete_plan(*, session: Session, user: User, plan_id: int, now: datetime) -> PlanPublic:
    """End a plan: its future visits are cancelled, the past ones kept."""
    plan = _plan_for(session, user, plan_id, SeniorAction.BOOK)
    move_plan(session, plan, PlanStatus.ENDED, now=now)
    cancel_future(session, plan, now, now=now, actor_id=user.id, reason="plan_ended")
    session.commit()
    return plan_view(plan)


def skip_occurrence(*, session: Session, user: User, plan_id: int, day: date, now: datetime) -> OccurrencePublic:
    """Skip the plan's visit on one local date: cancelled if made, never made otherwise."""
    plan = _plan_for(session, user, plan_id, SeniorAction.BOOK)
    zone = local_zone()
    lo = max(local_midnight(day, zone), now)
    found = occurrences(segments_of(plan), lo, local_midnight(day + timedelta(days=1), zone), zone, until=plan.until)
    if not found:
        raise field_error("date", f"{day} 没有本计划的服务 / the plan has no visit on {day}", code="no_visit")
    start, end = found[0]
    request = session.exec(select(ServiceRequest).where(ServiceRequest.plan_id == plan.id,
                                                        ServiceRequest.occurrence_start == start)).first()
    if request is None:  # not yet made: a cancelled visit holds the key so it never will be
        request = ServiceRequest(senior_id=plan.senior_id, community_id=plan.community_id,
                                 service_type=plan.service_type, asap=False, scheduled_start=start, scheduled_end=end,
                                 duration_minutes=plan.duration_minutes, created_by=user.id, created_at=now,
                                 updated_at=now, plan_id=plan.id, occurrence_start=start,
                                 status=RequestStatus.CANCELLED, cancelled_at=now, cancel_reason="skipped")
        session.add(request)
    elif request.status != RequestStatus.CANCELLED:
        if request.status not in (RequestStatus.PENDING, RequestStatus.OFFERING, RequestStatus.ESCALATED,
                                  RequestStatus.ASSIGNED):
            raise invalid_transition(request.status, RequestStatus.CANCELLED)
        cancel_visit(session, request, now=now, actor_id=user.id, reason="skipped", release=False)
    session.commit()
    return OccurrencePublic(start=start, end=end, request_id=request.id, status="skipped")


def list_occurrences(*, session: Session, user: User, plan_id: int, since: datetime | None, to: datetime | None,
                     now: datetime) -> list[OccurrencePublic]:
    """The plan's visits in [since, to): made ones with their request, later ones as planned."""
    plan = _plan_for(session, user, plan_id, SeniorAction.READ)
    since = since or now - timedelta(days=7)
    to = to or now + timedelta(days=28)
    if to <= since or to - since > MAX_RANGE:
        raise field_error("to", "时间范围须在 92 天以内 / the range must be positive and at most 92 days")
    made = session.exec(select(ServiceRequest).where(ServiceRequest.plan_id == plan.id,
                                                     ServiceRequest.scheduled_start >= since,
                                                     ServiceRequest.scheduled_start < to)).all()
    by_start: dict[datetime, OccurrencePublic] = {}
    for r in sorted(made, key=lambda r: (r.status != RequestStatus.CANCELLED, r.id)):  # live ones win
        status = "skipped" if r.cancel_reason == "skipped" else r.status
        by_start[r.scheduled_start] = OccurrencePublic(start=r.scheduled_start, end=r.scheduled_end, request_id=r.id,
                                                       status=status, provider_id=r.provider_id)
    if plan.status == PlanStatus.ACTIVE:
        for start, end in occurrences(segments_of(plan), max(since, now), to, local_zone(), until=plan.until):
            by_start.setdefault(start, OccurrencePublic(start=start, end=end, request_id=None, status="planned"))
    return [by_start[k] for k in sorted(by_start)]


def materialise_plans(*, session: Session, now: datetime, after_id: int = 0, limit: int = 2000) -> tuple[int, int]:
    """Clock job: make the next 14 days of visits of up to `limit` active plans with ids above
    after_id that are not yet made that far; returns (visits added, last plan id seen, 0 when done)."""
    end = materialise_until(now, local_zone())
    plans = plans_behind(session, end=end, after_id=after_id, limit=limit)
    added = materialise(session, plans, now=now)
    session.commit()
    return added, (plans[-1][0] if len(plans) == limit else 0)


def _plan_for(session: Session, user: User, plan_id: int, action: SeniorAction) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound()
    senior_for(session=session, user=user, senior_id=plan.senior_id, action=action)
    return plan


def plan_view(plan: Plan) -> PlanPublic:
    """A plan as its senior's side and staff see it."""
    start = start_of(plan).replace(tzinfo=local_zone()).astimezone(timezone.utc)
    return PlanPublic(id=plan.id, senior_id=plan.senior_id, community_id=plan.community_id,
                      service_type=plan.service_type, kind=plan.kind, status=plan.status, rrule=plan.rrule,
                      start=start, duration_minutes=plan.duration_minutes, until=plan.until,
                      preferred_provider_id=plan.preferred_provider_id, notes=plan.notes, rule_from=plan.rule_from,
                      created_at=plan.created_at)

