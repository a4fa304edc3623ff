"""RRULE expansion for care plans: local time (Asia/Shanghai, no DST), windows, segments, validation."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dispatch.recurrence import (RuleError, Segment, check_rule, local_occurrences, materialise_until, occurrences,
                                 same_day_clashes, shared_key, shared_occurrences)

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # Monday 08:00 in Chenzhou


def seg(rule: str, start: datetime, *, minutes: int = 60, valid_from: datetime | None = None, valid_to=None):
    return Segment(rule, start, minutes, valid_from or datetime(2000, 1, 1, tzinfo=UTC), valid_to)


def starts(segments, lo=T0, days=14, until=None):
    return [s.astimezone(SH).replace(tzinfo=None) for s, _ in
            occurrences(segments, lo, lo + timedelta(days=days), SH, until=until)]


def test_weekly_mo_we_fr_at_local_nine():
    got = starts([seg("FREQ=WEEKLY;BYDAY=MO,WE,FR", datetime(2026, 1, 5, 9, 0))])
    assert [d.strftime("%a %d") for d in got] == ["Mon 02", "Wed 04", "Fri 06", "Mon 09", "Wed 11", "Fri 13"]
    assert {d.time() for d in got} == {datetime(2026, 1, 1, 9).time()}


def test_weekdays_skip_the_weekend():
    got = starts([seg("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", datetime(2026, 1, 5, 11, 30))], days=7)
    assert [d.isoweekday() for d in got] == [1, 2, 3, 4, 5]


def test_monthly_by_weekday_second_tuesday():
    got = starts([seg("FREQ=MONTHLY;BYDAY=2TU", datetime(2026, 1, 1, 14, 0))], lo=datetime(2026, 1, 1, tzinfo=UTC),
                 days=120)
    assert [d.date() for d in got] == [date(2026, 1, 13), date(2026, 2, 10), date(2026, 3, 10), date(2026, 4, 14)]


def test_until_and_count():
    assert len(starts([seg("FREQ=DAILY;COUNT=3", datetime(2026, 3, 2, 9))])) == 3
    assert len(starts([seg("FREQ=DAILY;UNTIL=20260304T235959", datetime(2026, 3, 2, 9))])) == 3
    until = datetime(2026, 3, 5, 0, 0, tzinfo=SH).astimezone(UTC)  # the plan's own until, exclusive
    assert len(starts([seg("FREQ=DAILY", datetime(2026, 3, 2, 9))], until=until)) == 3


def test_count_counts_from_the_first_visit_not_the_window():
    rule = seg("FREQ=DAILY;COUNT=10", datetime(2026, 2, 25, 9))
    assert len(starts([rule])) == 5  # 25 Feb … 6 Mar: 2 … 6 March remain in the window


def test_shanghai_has_no_dst_nine_local_is_one_utc_all_year():
    rule = [seg("FREQ=WEEKLY;BYDAY=SU", datetime(2026, 1, 4, 9, 0))]
    got = occurrences(rule, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), SH)
    assert len(got) == 52 and {(s.hour, s.minute) for s, _ in got} == {(1, 0)}


def test_a_plan_started_long_ago_expands_the_same_as_from_scratch():
    long_ago = datetime(2019, 6, 3, 8, 0)
    for rule in ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH", "FREQ=DAILY;INTERVAL=3", "FREQ=MONTHLY;BYMONTHDAY=31",
                 "FREQ=MONTHLY;INTERVAL=5;BYDAY=-1FR"):
        lo = datetime(2026, 3, 1)
        fast = local_occurrences(rule, long_ago, lo, lo + timedelta(days=400))
        from dateutil.rrule import rrulestr
        slow = tuple(rrulestr(rule, dtstart=long_ago).between(lo, lo + timedelta(days=400), inc=True))
        assert fast == tuple(t for t in slow if t < lo + timedelta(days=400)), rule


def test_segments_an_edit_from_a_date_keeps_the_days_before():
    edit = datetime(2026, 3, 9, 0, 0, tzinfo=SH).astimezone(UTC)
    old = seg("FREQ=WEEKLY;BYDAY=MO,WE,FR", datetime(2026, 1, 5, 9), valid_to=edit)
    new = seg("FREQ=WEEKLY;BYDAY=TU,TH", datetime(2026, 3, 10, 15), valid_from=edit)
    got = [d.strftime("%a %d %H") for d in starts([old, new])]
    assert got == ["Mon 02 09", "Wed 04 09", "Fri 06 09", "Tue 10 15", "Thu 12 15"]


def test_window_is_half_open_and_never_before_lo():
    rule = [seg("FREQ=DAILY", datetime(2026, 1, 1, 8, 0))]  # 08:00 local = 00:00 UTC = T0
    assert starts(rule, lo=T0, days=1) == [datetime(2026, 3, 2, 8, 0)]
    later = occurrences(rule, T0 + timedelta(seconds=1), T0 + timedelta(days=1), SH)
    assert later == []


def test_materialise_until_is_the_end_of_the_local_day_fourteen_days_on():
    end = materialise_until(T0, SH)
    assert end.astimezone(SH) == datetime(2026, 3, 17, 0, 0, tzinfo=SH)
    assert materialise_until(T0 + timedelta(hours=10), SH) == end  # same local day: the same window


@pytest.mark.parametrize("rule", ["FREQ=HOURLY", "FREQ=MINUTELY", "FREQ=DAILY;BYHOUR=9,15", "FREQ=YEARLY",
                                  "FREQ=MONTHLY;BYMONTHDAY=30;BYMONTH=2", "FREQ=WEEKLY;BYDAY=XX", "not a rule",
                                  "FREQ=DAILY;COUNT=2;UNTIL=20270101T000000", "FREQ=DAILY;COUNT=0",
                                  "DTSTART:20260101T090000\nRRULE:FREQ=DAILY"])
def test_rules_a_plan_cannot_use(rule):
    with pytest.raises(RuleError):
        check_rule(rule, datetime(2026, 3, 2, 9))


def test_until_before_the_first_visit_is_refused():
    with pytest.raises(RuleError):
        check_rule("FREQ=WEEKLY;BYDAY=FR", datetime(2026, 3, 2, 9), until_local=datetime(2026, 3, 5))


def test_first_visit_and_same_day_clashes():
    assert check_rule("FREQ=WEEKLY;BYDAY=FR", datetime(2026, 3, 2, 9)) == datetime(2026, 3, 6, 9)
    a = occurrences([seg("FREQ=WEEKLY;BYDAY=MO", datetime(2026, 3, 2, 9))], T0, T0 + timedelta(days=14), SH)
    b = occurrences([seg("FREQ=WEEKLY;BYDAY=MO,TU", datetime(2026, 3, 2, 17))], T0, T0 + timedelta(days=14), SH)
    assert same_day_clashes(a, b, SH) == [date(2026, 3, 2), date(2026, 3, 9)]


SHAPES = ["FREQ=WEEKLY;BYDAY=TU", "FREQ=WEEKLY;BYDAY=MO,TH", "FREQ=WEEKLY", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR",
          "FREQ=DAILY", "FREQ=DAILY;INTERVAL=3", "FREQ=MONTHLY;BYDAY=2TU", "FREQ=MONTHLY", "FREQ=MONTHLY;INTERVAL=5",
          "FREQ=WEEKLY;BYDAY=WE;COUNT=40", "FREQ=DAILY;UNTIL=20260310T000000", "FREQ=MONTHLY;BYMONTHDAY=31"]


@pytest.mark.parametrize("rule", SHAPES)
def test_the_shared_expansion_of_a_rule_shape_is_each_plans_own(rule):
    """The clock expands a rule shape once for every plan whose key is the same: for starts on any
    day of the last 800 and the next 20 (inside the window too), with a plan-level until, each
    plan gets exactly what its own expansion gives, and plans differing only by whole periods share keys."""
    lo, hi = T0 + timedelta(hours=5, minutes=7), materialise_until(T0, SH)
    keys = set()
    for back in range(-20, 800, 3):
        start = datetime(2026, 3, 2, 9, 30) - timedelta(days=back)
        for end in (hi, hi - timedelta(days=6, hours=3)):
            own = occurrences([seg(rule, start, minutes=45)], lo, end, SH)
            key = shared_key(rule, start, 45, lo, end, SH)
            assert shared_occurrences(key) == own, (start, end)
            keys.add(key)
    if "COUNT" not in rule and "INTERVAL" not in rule and "FREQ=MONTHLY" not in rule:
        assert len(keys) <= 2 * (7 + 20)  # a phase per weekday, and the starts inside the window
