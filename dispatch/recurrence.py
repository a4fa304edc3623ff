"""Recurring care: RFC 5545 RRULEs expanded in local time (Asia/Shanghai), validated for care plans.

A plan is a list of segments (the rule in force from a date on: an edit starts a new segment and
leaves the earlier ones, so the past and the days before the edit keep their visits). Expansion
works on naive local wall-clock times and converts each to UTC at the end, so a visit at 09:00 is
at 09:00 local on every date. Nothing here reads the clock: callers give the window.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, rrule, rrulestr

# Care recurs daily at most: hourly and finer rules, and rules that fix their own hours, would
# put more than one visit of a type on a day.
ALLOWED_FREQS = {DAILY: "DAILY", WEEKLY: "WEEKLY", MONTHLY: "MONTHLY"}
FORBIDDEN_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")
MAX_COUNT = 1000
FIRST_VISIT_WITHIN = timedelta(days=400)  # a rule with no visit in this long names impossible dates
HORIZON = timedelta(days=14)


class RuleError(ValueError):
    """An RRULE a care plan cannot use; `message` is bilingual, for the 422."""


@dataclass(frozen=True)
class Segment:
    """One rule in force over [valid_from, valid_to) (UTC; valid_to None: open-ended)."""

    rule: str  # the RRULE value, e.g. "FREQ=WEEKLY;BYDAY=MO,WE,FR"
    start_local: datetime  # naive local wall-clock time of the first visit (DTSTART)
    duration_minutes: int
    valid_from: datetime
    valid_to: datetime | None = None


def parse_rule(value: str, start_local: datetime) -> rrule:
    """The dateutil rrule for a plan's RRULE value and local start; RuleError when a plan can't use it."""
    text = value.strip().removeprefix("RRULE:")
    upper = text.upper()
    if "\n" in text or "DTSTART" in upper:
        raise RuleError("只写 RRULE 的值，开始时间由 start 给出 / give only the RRULE value: start gives DTSTART")
    for part in FORBIDDEN_PARTS:
        if part + "=" in upper:
            raise RuleError(f"规则不能包含 {part}（时间由 start 决定）/ "
                            f"the rule may not set {part}: the time comes from start")
    if "COUNT=" in upper and "UNTIL=" in upper:
        raise RuleError("COUNT 与 UNTIL 不能同时使用 / COUNT and UNTIL may not both be given")
    try:
        rule = rrulestr(text, dtstart=start_local.replace(tzinfo=None, second=0, microsecond=0))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise RuleError(f"无法解析的重复规则 / not a valid RRULE: {exc}") from None
    if not isinstance(rule, rrule):
        raise RuleError("只能是一条 RRULE / exactly one RRULE is allowed")
    if rule._freq not in ALLOWED_FREQS:
        raise RuleError("同一类服务每天最多一次：频率须为 DAILY、WEEKLY 或 MONTHLY / "
                        "at most one visit of a type a day: FREQ must be DAILY, WEEKLY or MONTHLY")
    if rule._count is not None and rule._until is not None:
        raise RuleError("COUNT 与 UNTIL 不能同时使用 / COUNT and UNTIL may not both be given")
    if rule._count is not None and not 1 <= rule._count <= MAX_COUNT:
        raise RuleError(f"COUNT 须在 1 到 {MAX_COUNT} 之间 / COUNT must be 1 to {MAX_COUNT}")
    return rule


def check_rule(value: str, start_local: datetime, until_local: datetime | None = None) -> datetime:
    """Validate a plan's rule; returns its first visit (naive local). RuleError for impossible dates
    (no visit within FIRST_VISIT_WITHIN) and an until before the first visit."""
    rule = parse_rule(value, start_local)
    start = start_local.replace(tzinfo=None, second=0, microsecond=0)
    found = rule.between(start, start + FIRST_VISIT_WITHIN, inc=True)
    if not found:
        raise RuleError("规则在一年内没有任何日期（日期不存在？）/ the rule gives no date within a year "
                        "(an impossible date?)")
    if until_local is not None and until_local.replace(tzinfo=None) < found[0]:
        raise RuleError("结束日期早于第一次服务 / until is before the first visit")
    return found[0]


@lru_cache(maxsize=1024)
def _shape(rule_text: str) -> tuple[int, int, int | None]:
    """(freq, interval, count) of a rule: all the shift below needs, parsed once per rule text."""
    rule = parse_rule(rule_text, datetime(2000, 1, 1))
    return rule._freq, rule._interval, rule._count


def _shifted_start(shape: tuple[int, int, int | None], start: datetime, window_start: datetime) -> datetime:
    """A later DTSTART with the same occurrences from window_start on, so expansion doesn't walk
    from a start long past (and plans of the same rule and time share one cached expansion).
    Only for rules without COUNT (a count runs from the true start)."""
    freq, interval, count = shape
    if count is not None or window_start <= start:
        return start
    if freq == DAILY:
        step = timedelta(days=interval)
    elif freq == WEEKLY:
        step = timedelta(weeks=interval)
    else:  # MONTHLY: whole cycles of interval × 12 months keep the month, day and weekday rules
        years = interval * ((window_start.year - start.year - 1) // interval)
        return start.replace(year=start.year + years) if years > 0 and _valid_year(start, years) else start
    steps = (window_start - start) // step - 1
    return start + steps * step if steps > 0 else start


def _valid_year(start: datetime, years: int) -> bool:
    try:
        start.replace(year=start.year + years)
        return True
    except ValueError:  # 29 February
        return False


@lru_cache(maxsize=8192)
def _expand(rule_text: str, anchor: datetime, lo: datetime, hi: datetime, zone: tzinfo
            ) -> tuple[tuple[datetime, datetime], ...]:
    """(local, UTC) of each visit in [lo, hi) local: cached, since plans of one rule and time share it."""
    rule = parse_rule(rule_text, anchor)
    return tuple((t, t.replace(tzinfo=zone).astimezone(timezone.utc)) for t in rule.between(lo, hi, inc=True)
                 if t < hi)


def local_occurrences(rule_text: str, start_local: datetime, lo_local: datetime, hi_local: datetime
                      ) -> tuple[datetime, ...]:
    """Naive local visit starts of a rule in [lo_local, hi_local)."""
    start = start_local.replace(tzinfo=None, second=0, microsecond=0)
    anchor = _shifted_start(_shape(rule_text), start, lo_local)
    return tuple(t for t, _ in _expand(rule_text, anchor, lo_local, hi_local, timezone.utc) if t >= start)


def occurrences(segments: list[Segment] | tuple[Segment, ...], lo: datetime, hi: datetime, zone: tzinfo, *,
                until: datetime | None = None) -> list[tuple[datetime, datetime]]:
    """Visits (start, end) in UTC of a plan's segments in [lo, hi) (aware UTC), before `until`."""
    out: list[tuple[datetime, datetime]] = []
    for seg in segments:
        start_lo = max(lo, seg.valid_from)
        end_hi = hi
        if seg.valid_to is not None and seg.valid_to < end_hi:
            end_hi = seg.valid_to
        if until is not None and until < end_hi:
            end_hi = until
        if start_lo >= end_hi:
            continue
        # The local window is taken whole days wide, so plans share cached expansions; exact bounds
        # are applied on the UTC times below.
        lo_local = datetime.combine(start_lo.astimezone(zone).date(), time(0, 0))
        hi_local = datetime.combine(end_hi.astimezone(zone).date(), time(0, 0)) + timedelta(days=1)
        start = seg.start_local
        anchor = _shifted_start(_shape(seg.rule), start, lo_local)
        length = timedelta(minutes=seg.duration_minutes)
        for t, begin in _expand(seg.rule, anchor, lo_local, hi_local, zone):
            if start_lo <= begin < end_hi and t >= start:
                out.append((begin, begin + length))
    return out


def shared_key(rule: str, start_local: datetime, duration_minutes: int, lo: datetime, hi: datetime, zone: tzinfo
               ) -> tuple:
    """What the visits in [lo, hi) of a plan whose one rule is in force since before lo depend on:
    plans of the same rule, time of day and phase (a weekly rule's weekday, say) share the key,
    whatever their first date, so the clock expands each shape once (`shared_occurrences`)."""
    start = start_local.replace(tzinfo=None, second=0, microsecond=0)
    lo_local = datetime.combine(lo.astimezone(zone).date(), time(0, 0))
    # The shifted DTSTART lies before lo_local and gives the same visits from there on; a start
    # inside the window stays (visits before it are not the plan's).
    anchor = _shifted_start(_shape(rule), start, lo_local) if start <= lo_local else start
    return rule, anchor, duration_minutes, lo, hi, zone


def shared_occurrences(key: tuple) -> list[tuple[datetime, datetime]]:
    """occurrences() of a `shared_key`: (start, end) in UTC."""
    rule, anchor, duration_minutes, lo, hi, zone = key
    return occurrences((Segment(rule, anchor, duration_minutes, lo),), lo, hi, zone)


def materialise_until(now: datetime, zone: tzinfo, horizon: timedelta = HORIZON) -> datetime:
    """The end (UTC, exclusive) of the materialised window: the end of the local day `horizon` ahead,
    so the window moves a whole day at a time and a re-run within a day adds nothing."""
    day = (now.astimezone(zone) + horizon).date() + timedelta(days=1)
    return local_midnight(day, zone)


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """00:00 local on day, in UTC."""
    return datetime.combine(day, time(0, 0), tzinfo=zone).astimezone(timezone.utc)


def local_date(moment: datetime, zone: tzinfo) -> date:
    """The local calendar date of an aware moment."""
    return moment.astimezone(zone).date()


def same_day_clashes(a: list[tuple[datetime, datetime]], b: list[tuple[datetime, datetime]], zone: tzinfo
                     ) -> list[date]:
    """Local dates on which both lists have a visit (two plans of one type for one senior)."""
    days = {local_date(s, zone) for s, _ in a}
    return sorted({local_date(s, zone) for s, _ in b} & days)
