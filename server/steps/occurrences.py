"""A plan's visits as requests: materialise them ahead (idempotently), cancel the future ones.

Materialising is one multi-row INSERT … ON CONFLICT (plan_id, occurrence_start) DO NOTHING: a
re-run, a catch-up after downtime or a second clock by mistake adds nothing twice. Visits are never
made in the past (the window starts at `now`). Never commits.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from operator import itemgetter
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from dispatch.catalog import CareLevel
from dispatch.lifecycle import RequestStatus
from dispatch.recurrence import Segment, materialise_until, occurrences, shared_key, shared_occurrences
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


def start_of(plan) -> datetime:
    """The plan's current DTSTART as a naive local time."""
    return datetime.fromisoformat(plan.start_local)


def segments_of(plan) -> list[Segment]:
    """The rules of a plan over time: the edited-away ones, then the current one."""
    earlier = [Segment(s["rule"], datetime.fromisoformat(s["start_local"]), s["duration_minutes"],
                       datetime.fromisoformat(s["valid_from"]), datetime.fromisoformat(s["valid_to"]))
               for s in plan.earlier_rules]
    return earlier + [Segment(plan.rrule, start_of(plan), plan.duration_minutes, plan.rule_from)]


# What materialising reads of a plan: its columns, not an ORM object (the clock reads 100k of them).
PLAN_COLUMNS = tuple(Plan.__table__.c[name] for name in (
    "id", "senior_id", "community_id", "service_type", "status", "rrule", "start_local", "duration_minutes",
    "rule_from", "earlier_rules", "until", "notes", "materialised_until", "created_by"))


def segment_json(seg: Segment) -> dict:
    """A segment as stored in Plan.earlier_rules."""
    return {"rule": seg.rule, "start_local": seg.start_local.isoformat(timespec="minutes"),
            "duration_minutes": seg.duration_minutes, "valid_from": seg.valid_from.isoformat(),
            "valid_to": seg.valid_to.isoformat()}


_PRIORITY = {None: 0, **{level.value: level.rank for level in CareLevel}}
_COLUMNS = ("senior_id", "community_id", "service_type", "status", "asap", "notes", "priority", "wave", "created_by",
            "created_at", "updated_at", "checkin_flagged", "plan_id", "scheduled_start", "scheduled_end",
            "occurrence_start", "duration_minutes")


def _insert_sql(dialect: str) -> str:
    mark = "?" if dialect == "sqlite" else "%s"
    return (f"INSERT INTO service_request ({', '.join(_COLUMNS)}) VALUES ({', '.join([mark] * len(_COLUMNS))}) "
            "ON CONFLICT (plan_id, occurrence_start) DO NOTHING")


class _Stamp(dict):
    """A moment as the driver takes it: on SQLite the exact text SQLAlchemy's DateTime writes (so
    keys compare equal, whoever wrote them), cached, since a day's visits share a few start times."""

    def __init__(self, sqlite_text: bool):
        super().__init__()
        self.text = sqlite_text

    def __missing__(self, moment: datetime):
        value = f"{moment.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S.%f}" if self.text else moment
        self[moment] = value
        return value


def materialise(session: Session, plans: list, *, now: datetime, zone: ZoneInfo | None = None,
                horizon: timedelta | None = None) -> int:
    """Insert the visits of active plans from now (or where each plan got to) to the end of the
    local day 14 days ahead; returns how many visits were new. Marks each plan materialised.

    The hot path of the clock (100k plans): plans may be ORM objects or plain rows of their
    columns; plans of one rule shape share one expansion; the visits go in as one executemany on
    the driver, in start order (the time indexes then grow at a few places, not all over)."""
    zone = zone or local_zone()
    end = materialise_until(now, zone) if horizon is None else materialise_until(now, zone, horizon)
    live = [p for p in plans if p.status == "active"]
    if not live:
        return 0
    dialect = session.get_bind().dialect.name
    rows = _visit_rows(session, live, now, end, zone, _Stamp(dialect == "sqlite"))
    added = 0
    if rows:
        rows.sort(key=_BY_START)
        connection = session.connection()
        big = dialect == "sqlite" and len(rows) > BIG_INSERT
        if big:  # the pages of seven indexes a big batch touches stay in memory instead of spilling
            before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            connection.exec_driver_sql(f"PRAGMA cache_size={BIG_CACHE_KIB}")
        try:
            result = connection.exec_driver_sql(_insert_sql(dialect), rows)
        finally:
            if big:
                connection.exec_driver_sql(f"PRAGMA cache_size={int(before)}")
        added = result.rowcount if result.rowcount is not None and result.rowcount >= 0 else len(rows)
    session.execute(update(Plan).where(Plan.id.in_(bindparam("ids", expanding=True)))
                    .values(materialised_until=end), {"ids": [p.id for p in live]})
    return added


BIG_INSERT = 2000
BIG_CACHE_KIB = -65536  # 64 MiB of SQLite page cache while a batch goes in (the default is 2 MiB)
_BY_START = itemgetter(_COLUMNS.index("scheduled_start"))


def _visit_rows(session: Session, live: list, now: datetime, end: datetime, zone: ZoneInfo, stamp: _Stamp
                ) -> list[tuple]:
    """One row of values per new visit. A plan whose one rule is in force since before its window
    (nearly all of them) uses the shared expansion of its rule shape, formatted once."""
    care = _care_levels(session, {p.senior_id for p in live})
    created, pending = stamp[now], RequestStatus.PENDING.value
    rows: list[tuple] = []
    for plan in live:
        lo = max(now, plan.materialised_until or now)
        if lo >= end:
            continue
        head = (plan.senior_id, plan.community_id, str(plan.service_type), pending, False, plan.notes,
                _PRIORITY.get(care.get(plan.senior_id), 0), 0, plan.created_by, created, created, False, plan.id)
        if plan.earlier_rules or plan.rule_from > lo:
            tails = _tails(occurrences(segments_of(plan), lo, end, zone, until=plan.until), stamp)
        else:
            hi = min(end, plan.until) if plan.until is not None else end
            tails = _shared_tails(shared_key(plan.rrule, start_of(plan), plan.duration_minutes, lo, hi, zone),
                                  stamp.text)
        rows += [head + tail for tail in tails]
    return rows


@lru_cache(maxsize=16384)  # shapes of a day's window (1,115 for the reference mix); a few MB
def _shared_tails(key: tuple, sqlite_text: bool) -> tuple[tuple, ...]:
    """The visits of a shared rule shape as the driver takes them, kept across the clock's batches."""
    return tuple(_tails(shared_occurrences(key), _Stamp(sqlite_text)))


def _tails(visits: list[tuple[datetime, datetime]], stamp: _Stamp) -> list[tuple]:
    """(scheduled_start, scheduled_end, occurrence_start, duration_minutes) of each visit, as the driver takes them."""
    return [(stamp[start], stamp[finish], stamp[start], (finish - start) // _MINUTE) for start, finish in visits]


_MINUTE = timedelta(minutes=1)


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
