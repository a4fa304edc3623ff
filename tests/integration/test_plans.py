"""Recurring plans on SQLite and PostgreSQL with a controlled clock: materialising, skips, edits,
pause/resume, ending, validation and access."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from dispatch.catalog import Role
from dispatch.lifecycle import PlanStatus, RequestStatus
from models.plans import PlanCreate, PlanUpdate
from models.requests import ServiceRequest
from server.errors import Conflict, Forbidden, Invalid, NotFound
from server.services import plans
from tests import factories as f

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # Monday 08:00 in Chenzhou


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture
def w(db_session):
    com = f.first_community(db_session)
    owner = f.user(db_session, Role.SENIOR)
    senior = f.senior(db_session, com, owner=owner)
    db_session.commit()
    return {"s": db_session, "owner": owner, "senior": senior, "com": com}


def _plan(w, rule="FREQ=WEEKLY;BYDAY=MO,WE,FR", start=None, now=NOW, user=None, **extra):
    data = PlanCreate(senior_id=w["senior"].id, service_type=extra.pop("service_type", "meal"), rrule=rule,
                      start=start or local(2026, 3, 2, 11, 30), **extra)
    return plans.create_plan(session=w["s"], user=user or w["owner"], data=data, now=now)


def _visits(s, plan_id, *, live=True):
    s.expire_all()
    rows = s.exec(select(ServiceRequest).where(ServiceRequest.plan_id == plan_id)
                  .order_by(ServiceRequest.scheduled_start)).all()
    return [r for r in rows if not live or r.status != RequestStatus.CANCELLED]


def _days(rows):
    return [r.scheduled_start.astimezone(SH).strftime("%m-%d") for r in rows]


def _run_clock(s, now):
    after, total = 0, 0
    while True:
        added, after = plans.materialise_plans(session=s, now=now, after_id=after, limit=2)
        total += added
        if not after:
            return total


def test_a_new_plan_has_its_next_14_days_at_once_and_re_runs_add_nothing(w):
    plan = _plan(w)
    rows = _visits(w["s"], plan.id)
    assert _days(rows) == ["03-02", "03-04", "03-06", "03-09", "03-11", "03-13", "03-16"]
    assert {r.scheduled_start.astimezone(SH).strftime("%H:%M") for r in rows} == {"11:30"}
    assert {r.status for r in rows} == {RequestStatus.PENDING} and rows[0].duration_minutes == 60
    assert _run_clock(w["s"], NOW) == 0
    assert _run_clock(w["s"], NOW + timedelta(hours=5)) == 0
    assert len(_visits(w["s"], plan.id)) == 7


def test_catch_up_after_downtime_adds_the_new_days_never_the_past(w):
    plan = _plan(w)
    later = NOW + timedelta(days=5, hours=4)  # Saturday 12:00: the clock was down since Monday
    assert _run_clock(w["s"], later) == 2  # 18 and 20 March
    days = _days(_visits(w["s"], plan.id))
    assert days == ["03-02", "03-04", "03-06", "03-09", "03-11", "03-13", "03-16", "03-18", "03-20"]
    assert len(days) == len(set(days))


def test_a_plan_whose_first_visit_already_passed_today_starts_tomorrow(w):
    plan = _plan(w, rule="FREQ=DAILY", start=local(2026, 3, 2, 7, 0))  # 07:00 today, now 08:00
    assert _days(_visits(w["s"], plan.id))[0] == "03-03"


def test_skip_a_made_visit_and_a_far_one(w):
    plan = _plan(w)
    skipped = plans.skip_occurrence(session=w["s"], user=w["owner"], plan_id=plan.id, day=date(2026, 3, 4), now=NOW)
    assert skipped.status == "skipped"
    far = plans.skip_occurrence(session=w["s"], user=w["owner"], plan_id=plan.id, day=date(2026, 3, 20), now=NOW)
    assert far.request_id is not None
    _run_clock(w["s"], NOW + timedelta(days=7))
    days = _days(_visits(w["s"], plan.id))
    assert "03-04" not in days and "03-20" not in days and "03-18" in days
    with pytest.raises(Invalid):  # a Tuesday: the plan has no visit then
        plans.skip_occurrence(session=w["s"], user=w["owner"], plan_id=plan.id, day=date(2026, 3, 3), now=NOW)
    occ = plans.list_occurrences(session=w["s"], user=w["owner"], plan_id=plan.id, since=NOW,
                                 to=NOW + timedelta(days=7), now=NOW)
    assert [o.status for o in occ] == ["pending", "skipped", "pending"]


def test_edit_from_a_date_leaves_the_days_before_it(w):
    plan = _plan(w)
    plans.update_plan(session=w["s"], user=w["owner"], plan_id=plan.id, now=NOW,
                      data=PlanUpdate(rrule="FREQ=WEEKLY;BYDAY=TU,TH", start=local(2026, 3, 10, 15, 0),
                                      effective_from=date(2026, 3, 9)))
    rows = _visits(w["s"], plan.id)
    assert [r.scheduled_start.astimezone(SH).strftime("%m-%d %H:%M") for r in rows] == [
        "03-02 11:30", "03-04 11:30", "03-06 11:30", "03-10 15:00", "03-12 15:00", "03-17 15:00"][:len(rows)]
    cancelled = [r for r in _visits(w["s"], plan.id, live=False) if r.status == RequestStatus.CANCELLED]
    assert _days(cancelled) == ["03-09", "03-11", "03-13", "03-16"]
    assert {r.cancel_reason for r in cancelled} == {"plan_changed"}
    _run_clock(w["s"], NOW + timedelta(days=1))
    assert len(_days(_visits(w["s"], plan.id))) == len(set(_days(_visits(w["s"], plan.id))))


def test_edit_of_the_duration_only_keeps_the_weekdays(w):
    plan = _plan(w)
    plans.update_plan(session=w["s"], user=w["owner"], plan_id=plan.id, now=NOW,
                      data=PlanUpdate(duration_minutes=90, effective_from=date(2026, 3, 9)))
    rows = _visits(w["s"], plan.id)
    assert _days(rows) == ["03-02", "03-04", "03-06", "03-09", "03-11", "03-13", "03-16"]
    assert [r.duration_minutes for r in rows] == [60, 60, 60, 90, 90, 90, 90]
    with pytest.raises(Invalid):
        plans.update_plan(session=w["s"], user=w["owner"], plan_id=plan.id, now=NOW,
                          data=PlanUpdate(duration_minutes=30, effective_from=date(2026, 3, 1)))


def test_pause_cancels_the_future_and_resume_brings_it_back_once(w):
    plan = _plan(w)
    later = NOW + timedelta(days=1)
    plans.update_plan(session=w["s"], user=w["owner"], plan_id=plan.id, data=PlanUpdate(paused=True), now=later)
    assert _days(_visits(w["s"], plan.id)) == ["03-02"]  # Monday's visit was before the pause
    assert _run_clock(w["s"], later) == 0
    plans.update_plan(session=w["s"], user=w["owner"], plan_id=plan.id, data=PlanUpdate(paused=False), now=later)
    days = _days(_visits(w["s"], plan.id))
    assert days == ["03-02", "03-04", "03-06", "03-09", "03-11", "03-13", "03-16"]
    assert _run_clock(w["s"], later) == 0


def test_delete_cancels_future_visits_and_keeps_the_past(w):
    plan = _plan(w)
    s = w["s"]
    first = _visits(s, plan.id)[0]
    first.status, first.completed_at = RequestStatus.COMPLETED, NOW + timedelta(hours=5)
    s.add(first)
    s.commit()
    ended = plans.delete_plan(session=s, user=w["owner"], plan_id=plan.id, now=NOW + timedelta(days=1))
    assert ended.status == PlanStatus.ENDED
    rows = _visits(s, plan.id, live=False)
    assert [r.status for r in rows][:1] == [RequestStatus.COMPLETED]
    assert {r.status for r in rows[1:]} == {RequestStatus.CANCELLED}
    assert _run_clock(s, NOW + timedelta(days=3)) == 0
    with pytest.raises(Conflict):
        plans.update_plan(session=s, user=w["owner"], plan_id=plan.id, data=PlanUpdate(paused=False), now=NOW)


@pytest.mark.parametrize("rule", ["FREQ=HOURLY", "FREQ=DAILY;BYHOUR=9,17", "FREQ=MONTHLY;BYMONTHDAY=30;BYMONTH=2",
                                  "FREQ=WEEKLY;BYDAY=XX"])
def test_rules_that_are_invalid_impossible_or_more_than_once_a_day_are_422(w, rule):
    with pytest.raises(Invalid) as err:
        _plan(w, rule=rule)
    assert err.value.details[0]["field"] == "rrule"


def test_a_second_plan_of_the_same_type_on_the_same_day_is_422_another_type_is_fine(w):
    _plan(w, rule="FREQ=WEEKLY;BYDAY=MO")
    with pytest.raises(Invalid) as err:
        _plan(w, rule="FREQ=WEEKLY;BYDAY=MO,TU", start=local(2026, 3, 2, 17, 0))
    assert err.value.code == "plan_clash"
    _plan(w, rule="FREQ=WEEKLY;BYDAY=MO", service_type="cleaning")
    _plan(w, rule="FREQ=WEEKLY;BYDAY=TU")


def test_who_may_create_a_plan(w):
    s, com = w["s"], w["com"]
    booker, viewer, stranger = (f.user(s, Role.FAMILY) for _ in range(3))
    f.family_link(s, w["senior"], booker, can_book=True)
    f.family_link(s, w["senior"], viewer, can_book=False)
    staff = f.staff(s, com)
    s.commit()
    _plan(w, user=booker, rule="FREQ=WEEKLY;BYDAY=MO")
    _plan(w, user=staff, rule="FREQ=WEEKLY;BYDAY=TU")
    with pytest.raises(Forbidden):
        _plan(w, user=viewer, rule="FREQ=WEEKLY;BYDAY=WE")
    with pytest.raises(NotFound):
        _plan(w, user=stranger, rule="FREQ=WEEKLY;BYDAY=TH")
    with pytest.raises(NotFound):
        _plan(w, user=f.staff(s, f.other_community(s, com)), rule="FREQ=WEEKLY;BYDAY=FR")


def test_the_clock_marks_each_plan_made_up_to_the_window_and_then_reads_none(w):
    from dispatch.recurrence import materialise_until
    from models.plans import Plan

    made = [_plan(w), _plan(w, service_type="cleaning")]
    w["s"].expire_all()
    assert {w["s"].get(Plan, p.id).materialised_until for p in made} == {materialise_until(NOW, SH)}  # on creation
    later = NOW + timedelta(days=3)
    assert _run_clock(w["s"], later) > 0
    w["s"].expire_all()
    assert {w["s"].get(Plan, p.id).materialised_until for p in made} == {materialise_until(later, SH)}
    assert plans.materialise_plans(session=w["s"], now=later + timedelta(hours=2)) == (0, 0)  # nobody behind


def test_a_made_visit_carries_the_plans_senior_type_notes_author_and_the_care_levels_priority(w):
    """The clock makes visits inside the database (INSERT … SELECT from the plan's and the senior's
    rows): each carries what a hand-made request would, and plans of one shape and an edited plan
    go in together."""
    from dispatch.catalog import CareLevel

    s, senior = w["s"], w["senior"]
    senior.care_level = CareLevel.SEVERE
    s.add(senior)
    s.commit()
    staff = f.staff(s, w["com"])
    shared = [_plan(w, notes="少油少盐", user=staff),
              _plan(w, service_type="cleaning", rule="FREQ=WEEKLY;BYDAY=MO,WE,FR")]
    edited = _plan(w, service_type="bathing", rule="FREQ=WEEKLY;BYDAY=SA")
    plans.update_plan(session=s, user=w["owner"], plan_id=edited.id,
                      data=PlanUpdate(rrule="FREQ=WEEKLY;BYDAY=SU", effective_from=date(2026, 3, 9)), now=NOW)
    later = NOW + timedelta(days=15)  # Tuesday 03-17 08:00: a whole new window, made by the clock in one batch
    added, _ = plans.materialise_plans(session=s, now=later)
    rows = {p.id: [r for r in _visits(s, p.id) if r.scheduled_start >= later] for p in [*shared, edited]}
    assert added == sum(len(v) for v in rows.values()) == 6 + 6 + 2
    first = rows[shared[0].id][0]
    assert (first.senior_id, first.community_id, first.service_type, first.notes, first.created_by) == (
        senior.id, w["com"].id, "meal", "少油少盐", staff.id)
    assert {r.priority for v in rows.values() for r in v} == {CareLevel.SEVERE.rank}
    assert {r.status for v in rows.values() for r in v} == {RequestStatus.PENDING}
    assert all(r.occurrence_start == r.scheduled_start and r.scheduled_end - r.scheduled_start == timedelta(hours=1)
               and r.created_at == later and not r.asap and r.wave == 0 for v in rows.values() for r in v)
    assert _days(rows[shared[0].id]) == ["03-18", "03-20", "03-23", "03-25", "03-27", "03-30"]
    assert _days(rows[edited.id]) == ["03-22", "03-29"]  # Sundays since the edit
    assert plans.materialise_plans(session=s, now=later) == (0, 0)
