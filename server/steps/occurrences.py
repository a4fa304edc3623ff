"""A plan's visits as requests: materialise them ahead (idempotently), cancel the future ones.

Materialising is one INSERT … SELECT … ON CONFLICT (plan_id, occurrence_start) DO NOTHING a batch: a
re-run, a catch-up after downtime or a second clock by mistake adds nothing twice. Visits are never
made in the past (the window starts at `now`). Never commits.
"""
from __future__ import annotations

import json
from collections import namedtuple
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from operator import attrgetter
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, bindparam, case, func, or_, select, text, type_coerce
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from dispatch.catalog import CareLevel
from dispatch.lifecycle import RequestStatus
from dispatch.recurrence import Segment, materialise_until, occurrences, shared_key, shared_occurrences
from models.bulk import moment_text
from models.driver import DriverQuery
from models.plans import Plan
from models.requests import ServiceRequest
from models.types import UTCDateTime, local_zone
from server.steps import outbox
from server.steps.transitions import move
from server.steps.views import event_view
from server.steps.waves import withdraw_open_offers

_REQ = ServiceRequest.__table__
# Not yet begun: what a pause, an edit or the end of a plan may still take back.
NOT_BEGUN = (RequestStatus.PENDING, RequestStatus.OFFERING, RequestStatus.ESCALATED, RequestStatus.ASSIGNED)


def start_of(plan) -> datetime:
    """The plan's current DTSTART as a naive local time."""
    return datetime.fromisoformat(plan.start_local)


def segments_of(plan) -> list[Segment]:
    """The rules of a plan over time: the edited-away ones, then the current one."""
    earlier = [Segment(s["rule"], datetime.fromisoformat(s["start_local"]), s["duration_minutes"],
                       datetime.fromisoformat(s["valid_from"]), datetime.fromisoformat(s["valid_to"]))
               for s in plan.earlier_rules]
    return earlier + [Segment(plan.rrule, start_of(plan), plan.duration_minutes, plan.rule_from)]


# What materialising reads of a plan: its columns, not an ORM object (the clock reads 100k of them);
# earlier_rules only where there are some (NULL otherwise: no JSON to parse for nearly every plan).
_PLAN = Plan.__table__.c
PLAN_COLUMNS = (_PLAN.id, _PLAN.status, _PLAN.rrule, _PLAN.start_local, _PLAN.duration_minutes, _PLAN.rule_from,
                type_coerce(case((func.json_array_length(_PLAN.earlier_rules) > 0, _PLAN.earlier_rules)), JSON)
                .label("earlier_rules"), _PLAN.until, _PLAN.materialised_until)


_BEHIND = DriverQuery(select(*PLAN_COLUMNS).where(
    _PLAN.status == "active", _PLAN.id > bindparam("after"),
    or_(_PLAN.materialised_until.is_(None), _PLAN.materialised_until < bindparam("end", type_=UTCDateTime())))
    .order_by(_PLAN.id).limit(bindparam("limit")))


def plans_behind(session: Session, *, end: datetime, after_id: int, limit: int) -> list[tuple]:
    """Up to limit active plans with ids above after_id not yet made up to end, as named tuples of
    PLAN_COLUMNS. Read on the driver (the clock reads 100k plans a day): the three times of a plan
    repeat across plans (a few hundred distinct values), so each distinct one is parsed once."""
    connection = session.connection()
    rows = _BEHIND.all(connection.connection.driver_connection, connection.dialect,
                       {"after": after_id, "end": end, "limit": limit}, convert=False)
    return [_Plan(plan_id, status, rule, start_local, minutes, _moment(rule_from),
                  json.loads(earlier) if isinstance(earlier, str) else earlier, _moment(until), _moment(made))
            for plan_id, status, rule, start_local, minutes, rule_from, earlier, until, made in rows]


@lru_cache(maxsize=4096)
def _moment(value: str | datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite stores naive UTC text; psycopg gives datetimes)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def segment_json(seg: Segment) -> dict:
    """A segment as stored in Plan.earlier_rules."""
    return {"rule": seg.rule, "start_local": seg.start_local.isoformat(timespec="minutes"),
            "duration_minutes": seg.duration_minutes, "valid_from": seg.valid_from.isoformat(),
            "valid_to": seg.valid_to.isoformat()}


class _Stamp(dict):
    """A moment as the driver takes it: on SQLite the exact text SQLAlchemy's DateTime writes (so
    keys compare equal, whoever wrote them), cached, since a day's visits share a few start times."""

    def __init__(self, sqlite_text: bool):
        super().__init__()
        self.text = sqlite_text

    def __missing__(self, moment: datetime):
        value = moment_text(moment) if self.text else moment.isoformat()
        self[moment] = value
        return value


_PRIORITY = {level.value: level.rank for level in CareLevel}


def materialise(session: Session, plans: list, *, now: datetime, zone: ZoneInfo | None = None,
                horizon: timedelta | None = None) -> int:
    """Insert the visits of active plans from now (or where each plan got to) to the end of the
    local day 14 days ahead; returns how many visits were new. Marks each plan materialised.

    The hot path of the clock (100k plans × 14 days, half a million visits). Python expands each
    rule shape once (plans of one rule shape share an expansion) and hands the database two short
    lists as JSON: the shapes' visits, and which plan has which shape. One INSERT … SELECT then
    makes every visit inside the database, taking the senior, community, type, notes and author
    from the plan's row and the priority from the senior's care level, in start order (the time
    indexes then grow at a few places, not all over). No visit's values cross the driver one by one.
    `plans` may be ORM objects or the named tuples of plans_behind."""
    zone = zone or local_zone()
    end = materialise_until(now, zone) if horizon is None else materialise_until(now, zone, horizon)
    live = [p for p in plans if p.status == "active"]
    if not live:
        return 0
    dialect = session.get_bind().dialect.name
    pairs, visits = _shapes(live, now, end, zone, dialect)
    added = 0
    if pairs:
        connection = session.connection()
        big = dialect == "sqlite" and len(pairs) > BIG_BATCH
        if big:  # the pages of the indexes a big batch touches stay in memory instead of spilling
            before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            connection.exec_driver_sql(f"PRAGMA cache_size={BIG_CACHE_KIB}")
        try:
            result = connection.execute(_insert_visits(dialect), {
                "pairs": json.dumps(pairs, separators=(",", ":")), "visits": json.dumps(visits, separators=(",", ":")),
                "created": _Stamp(True)[now] if dialect == "sqlite" else now})
        finally:
            if big:
                connection.exec_driver_sql(f"PRAGMA cache_size={int(before)}")
        added = result.rowcount if result.rowcount is not None and result.rowcount >= 0 else 0
    session.connection().execute(_mark_made(dialect), {
        "ids": json.dumps([p.id for p in live]), "end": _Stamp(True)[end] if dialect == "sqlite" else end})
    for plan in live:  # a use case's ORM plan: as the row now is (the UPDATE went round the ORM)
        if not isinstance(plan, tuple):
            set_committed_value(plan, "materialised_until", end)
    return added


BIG_BATCH = 400  # plans (~2,000 visits)
BIG_CACHE_KIB = -65536  # 64 MiB of SQLite page cache while a batch goes in (the default is 2 MiB)


def _shapes(live: list, now: datetime, end: datetime, zone: ZoneInfo, dialect: str) -> tuple[list, list]:
    """([plan id, shape number] of each plan with visits to make, [shape number, start, end, minutes]
    of each shape's visits), the times as the database stores them. A plan whose one rule is in
    force since before its window (nearly all of them) takes the shared expansion of its rule
    shape; an edited plan, or one whose rule starts inside the window, is a shape of its own."""
    as_text = dialect == "sqlite"
    number: dict[tuple, int] = {}  # shape key → shape number
    known: dict[tuple, int] = {}  # (rule, DTSTART, duration, window) → shape number, before any expansion
    pairs: list[list[int]] = []
    visits: list[list] = []
    for plan in live:
        plan_id, _, rule, start_local, minutes, rule_from, earlier, until, made = (
            plan if isinstance(plan, tuple) else _plan_values(plan))
        lo = now if made is None or made < now else made
        if lo >= end:
            continue
        hi = end if until is None or until > end else until
        args = (rule, start_local, minutes, lo, hi)
        shape = known.get(args)
        if shape is None or earlier or rule_from > lo:
            if earlier or rule_from > lo:
                plan = plan._replace(earlier_rules=earlier or []) if isinstance(plan, tuple) else plan
                key: tuple = ("plan", plan_id)
                tails = _tails(occurrences(segments_of(plan), lo, end, zone, until=until), _Stamp(as_text))
            else:
                key = _shared_key(rule, start_local, minutes, lo, hi, zone)
                tails = _shared_tails(key, as_text)
            shape = number.get(key)
            if shape is None:
                shape = number[key] = len(number)
                visits += [[shape, *tail] for tail in tails]
            if key[0] != "plan":
                known[args] = shape
        pairs.append([plan_id, shape])
    used = {v[0] for v in visits}
    return [p for p in pairs if p[1] in used], visits


_PLAN_NAMES = tuple(column.key for column in PLAN_COLUMNS)
_plan_values = attrgetter(*_PLAN_NAMES)  # an ORM plan's PLAN_COLUMNS, in order (rows are tuples already)
_Plan = namedtuple("_Plan", _PLAN_NAMES)


@lru_cache(maxsize=65536)  # plans of one rule, DTSTART and window (14,400 for the reference mix)
def _shared_key(rule: str, start_local: str, duration_minutes: int, lo: datetime, hi: datetime, zone: ZoneInfo
                ) -> tuple:
    return shared_key(rule, datetime.fromisoformat(start_local), duration_minutes, lo, hi, zone)


@lru_cache(maxsize=16384)  # shapes of a day's window (1,115 for the reference mix); a few MB
def _shared_tails(key: tuple, sqlite_text: bool) -> tuple[tuple, ...]:
    """The visits of a shared rule shape as the database takes them, kept across the clock's batches."""
    return tuple(_tails(shared_occurrences(key), _Stamp(sqlite_text)))


def _tails(visits: list[tuple[datetime, datetime]], stamp: _Stamp) -> list[tuple]:
    """(start, end, duration in minutes) of each visit, as the database takes them."""
    return [(stamp[start], stamp[finish], (finish - start) // _MINUTE) for start, finish in visits]


_MINUTE = timedelta(minutes=1)


@lru_cache(maxsize=2)
def _mark_made(dialect: str):
    """Mark the plans of :ids (a JSON array) made up to :end."""
    ids = ("SELECT value FROM json_each(:ids)" if dialect == "sqlite" else
           "SELECT value::bigint FROM jsonb_array_elements_text(CAST(:ids AS jsonb))")
    return text(f"UPDATE plan SET materialised_until = :end WHERE id IN ({ids})")


@lru_cache(maxsize=2)
def _insert_visits(dialect: str):
    """The INSERT … SELECT that makes a batch's visits from :pairs and :visits (JSON arrays).
    ON CONFLICT (plan_id, occurrence_start) DO NOTHING: a re-run adds nothing."""
    if dialect == "sqlite":
        pairs = "SELECT value ->> 0 AS plan_id, value ->> 1 AS shape FROM json_each(:pairs)"
        shapes = ("SELECT value ->> 0 AS shape, value ->> 1 AS start, value ->> 2 AS finish, value ->> 3 AS minutes "
                  "FROM json_each(:visits)")
    else:
        pairs = ("SELECT (value ->> 0)::bigint AS plan_id, (value ->> 1)::int AS shape "
                 "FROM jsonb_array_elements(CAST(:pairs AS jsonb))")
        shapes = ("SELECT (value ->> 0)::int AS shape, (value ->> 1)::timestamptz AS start, "
                  "(value ->> 2)::timestamptz AS finish, (value ->> 3)::int AS minutes "
                  "FROM jsonb_array_elements(CAST(:visits AS jsonb))")
    priority = " ".join(f"WHEN '{level}' THEN {rank}" for level, rank in _PRIORITY.items())
    false = "0" if dialect == "sqlite" else "false"
    return text(
                "INSERT INTO service_request (senior_id, community_id, service_type, status, asap, notes, priority, "
        "wave, created_by, created_at, updated_at, checkin_flagged, plan_id, scheduled_start, scheduled_end, "
        "occurrence_start, duration_minutes) "
        f"WITH pairs AS MATERIALIZED ({pairs}), shapes AS MATERIALIZED ({shapes}) "
        f"SELECT p.senior_id, p.community_id, p.service_type, '{RequestStatus.PENDING.value}', {false}, p.notes, "
        f"CASE s.care_level {priority} ELSE 0 END, 0, p.created_by, :created, :created, {false}, p.id, "
        "v.start, v.finish, v.start, v.minutes "
        "FROM shapes v JOIN pairs ps ON ps.shape = v.shape JOIN plan p ON p.id = ps.plan_id "
        "JOIN senior s ON s.id = p.senior_id WHERE true ORDER BY v.start, p.id "
        "ON CONFLICT (plan_id, occurrence_start) DO NOTHING")


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
