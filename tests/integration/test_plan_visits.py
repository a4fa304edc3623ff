"""Upcoming plan visits on a controlled clock: continuity-first batch assignment, decline and
re-dispatch, escalation ahead of time, reminders, 关爱探访 lateness, and 每日平安 check-ins."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from dispatch.catalog import Role
from dispatch.lifecycle import OfferStatus, RequestStatus
from models.events import Event
from models.plans import CheckinSettingUpdate, PlanCreate
from models.requests import Offer, ServiceRequest
from server.errors import Forbidden
from server.services import checkins, offers, plan_visits, plans, sweeper
from server.steps.directory import ProviderDirectory
from tests import factories as f

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # Monday 08:00 in Chenzhou


@pytest.fixture
def w(db_session):
    s = db_session
    com = f.first_community(s)
    owner = f.user(s, Role.SENIOR)
    senior = f.senior(s, com, owner=owner)
    family = f.user(s, Role.FAMILY)
    f.family_link(s, senior, family)
    near = f.provider(s, com, lat=com.lat, lon=com.lon + 0.005, services=("meal",))  # ~0.5 km
    far = f.provider(s, com, lat=com.lat, lon=com.lon + 0.03, services=("meal",))  # ~3 km
    s.commit()
    return {"s": s, "com": com, "owner": owner, "senior": senior, "family": family, "near": near, "far": far,
            "directory": ProviderDirectory(s.get_bind())}


def _plan(w, *, start, rule="FREQ=DAILY", **extra):
    data = PlanCreate(senior_id=w["senior"].id, service_type="meal", rrule=rule, start=start, **extra)
    return plans.create_plan(session=w["s"], user=w["owner"], data=data, now=NOW)


def _visit_on(s, plan_id, day: str) -> ServiceRequest:
    s.expire_all()
    for r in s.exec(select(ServiceRequest).where(ServiceRequest.plan_id == plan_id)).all():
        if r.scheduled_start.astimezone(SH).strftime("%m-%d") == day:
            return r
    raise AssertionError(day)


def _events(s, type_):
    s.expire_all()
    return s.exec(select(Event).where(Event.type == type_).order_by(Event.id)).all()


def test_batch_offers_the_nearest_and_continuity_wins_over_distance(w):
    s = w["s"]
    plain = _plan(w, start=datetime(2026, 3, 2, 10, 0, tzinfo=SH))
    result = plan_visits.assign_plan_visits(session=s, directory=w["directory"], now=NOW)
    # 48 h ahead to the end of the local day 72 h ahead: the visits of 4 and 5 March.
    assert result == {"offered": 2, "continuity": 0, "escalated": 0}
    visit = _visit_on(s, plain.id, "03-04")
    assert visit.status == RequestStatus.OFFERING
    offer = s.exec(select(Offer).where(Offer.request_id == visit.id)).one()
    assert offer.provider_id == w["near"].id and offer.reasons[0]["code"] == "batch"
    assert _visit_on(s, plain.id, "03-06").status == RequestStatus.PENDING  # not yet its day
    assert plan_visits.assign_plan_visits(session=s, directory=w["directory"], now=NOW)["offered"] == 0

    plans.update_plan(session=s, user=w["owner"], plan_id=plain.id, now=NOW,
                      data=plans.PlanUpdate(preferred_provider_id=w["far"].id))
    result = plan_visits.assign_plan_visits(session=s, directory=w["directory"], now=NOW + timedelta(days=1))
    assert result["continuity"] >= 1
    chosen = s.exec(select(Offer).where(Offer.request_id == _visit_on(s, plain.id, "03-06").id)).one()
    assert chosen.provider_id == w["far"].id and chosen.reasons[0]["code"] == "continuity"


def test_the_last_provider_who_served_comes_first(w):
    s = w["s"]
    past = ServiceRequest(senior_id=w["senior"].id, community_id=w["com"].id, service_type="meal",
                          status=RequestStatus.COMPLETED, scheduled_start=NOW - timedelta(days=3),
                          scheduled_end=NOW - timedelta(days=3, hours=-1), provider_id=w["far"].id,
                          completed_at=NOW - timedelta(days=3), created_by=w["owner"].id)
    s.add(past)
    s.commit()
    plan = _plan(w, start=datetime(2026, 3, 2, 10, 0, tzinfo=SH))
    plan_visits.assign_plan_visits(session=s, directory=w["directory"], now=NOW)
    offer = s.exec(select(Offer).where(Offer.request_id == _visit_on(s, plan.id, "03-04").id)).one()
    assert offer.provider_id == w["far"].id


def test_a_decline_re_dispatches_and_nobody_means_escalated_days_ahead(w):
    s = w["s"]
    plan = _plan(w, start=datetime(2026, 3, 2, 10, 0, tzinfo=SH))
    plan_visits.assign_plan_visits(session=s, directory=w["directory"], now=NOW)
    visit = _visit_on(s, plan.id, "03-04")
    offer = s.exec(select(Offer).where(Offer.request_id == visit.id)).one()
    near_user = s.get(f.User, w["near"].user_id)
    offers.decline_offer(session=s, user=near_user, offer_id=offer.id, directory=w["directory"], now=NOW)
    for rid in sweeper.requests_to_advance(session=s, now=NOW):
        sweeper.advance_request(session=s, request_id=rid, directory=w["directory"], now=NOW)
    s.expire_all()
    waves = s.exec(select(Offer).where(Offer.request_id == visit.id, Offer.status == OfferStatus.OFFERED)).all()
    assert [o.provider_id for o in waves] == [w["far"].id]

    lonely = f.senior(s, w["com"], lat=w["com"].lat + 0.5, owner=f.user(s, Role.SENIOR))  # 55 km away
    s.commit()
    far_plan = plans.create_plan(session=s, user=s.get(f.User, lonely.user_id), now=NOW,
                                 data=PlanCreate(senior_id=lonely.id, service_type="meal", rrule="FREQ=DAILY",
                                                 start=datetime(2026, 3, 2, 10, 0, tzinfo=SH)))
    result = plan_visits.assign_plan_visits(session=s, directory=w["directory"], now=NOW)
    assert result["escalated"] == 2
    escalated = _visit_on(s, far_plan.id, "03-04")
    assert escalated.status == RequestStatus.ESCALATED
    assert escalated.scheduled_start - escalated.escalated_at >= timedelta(hours=48)


def test_reminders_go_the_evening_before_and_an_hour_before_once_each(w):
    s = w["s"]
    plan = _plan(w, start=datetime(2026, 3, 3, 10, 0, tzinfo=SH), rule="FREQ=WEEKLY;BYDAY=TU")
    assert plan_visits.send_reminders(session=s, now=NOW) == {"reminders": 0}  # Monday 08:00
    evening = datetime(2026, 3, 2, 20, 0, tzinfo=SH).astimezone(UTC)
    assert plan_visits.send_reminders(session=s, now=evening) == {"reminders": 1}
    assert plan_visits.send_reminders(session=s, now=evening + timedelta(minutes=5)) == {"reminders": 0}
    hour = datetime(2026, 3, 3, 9, 1, tzinfo=SH).astimezone(UTC)
    assert plan_visits.send_reminders(session=s, now=hour) == {"reminders": 1}
    assert plan_visits.send_reminders(session=s, now=hour) == {"reminders": 0}
    got = _events(s, "visit_reminder")
    assert {e.payload["kind"] for e in got} == {"reminder_evening", "reminder_hour"}
    assert {e.user_id for e in got} == {w["owner"].id, w["family"].id}
    assert _visit_on(s, plan.id, "03-03").id == got[0].payload["request"]["id"]


def test_a_late_care_visit_alerts_the_provider_then_staff(w):
    s = w["s"]
    plan = _plan(w, start=datetime(2026, 3, 2, 10, 0, tzinfo=SH), kind="care_visit")
    visit = _visit_on(s, plan.id, "03-02")
    visit.status, visit.provider_id = RequestStatus.ASSIGNED, w["near"].id
    s.add(visit)
    s.commit()
    at = visit.scheduled_start
    assert plan_visits.alert_late_care_visits(session=s, now=at + timedelta(minutes=29)) == {"provider": 0, "staff": 0}
    assert plan_visits.alert_late_care_visits(session=s, now=at + timedelta(minutes=31)) == {"provider": 1, "staff": 0}
    assert plan_visits.alert_late_care_visits(session=s, now=at + timedelta(minutes=40)) == {"provider": 0, "staff": 0}
    assert plan_visits.alert_late_care_visits(session=s, now=at + timedelta(minutes=61)) == {"provider": 0, "staff": 1}
    late = _events(s, "care_visit_late")
    assert [(e.user_id, e.community_id) for e in late] == [(w["near"].user_id, None), (None, w["com"].id)]


def test_a_started_care_visit_raises_nothing(w):
    s = w["s"]
    plan = _plan(w, start=datetime(2026, 3, 2, 10, 0, tzinfo=SH), kind="care_visit")
    visit = _visit_on(s, plan.id, "03-02")
    visit.status, visit.provider_id = RequestStatus.IN_SERVICE, w["near"].id
    s.add(visit)
    s.commit()
    assert plan_visits.alert_late_care_visits(session=s, now=visit.scheduled_start + timedelta(hours=2)) == {
        "provider": 0, "staff": 0}


def _opt_in(w, deadline="10:00"):
    checkins.set_checkin(session=w["s"], user=w["owner"], senior_id=w["senior"].id, now=NOW,
                         data=CheckinSettingUpdate(enabled=True, deadline=deadline))


def test_a_missed_check_in_goes_to_family_then_an_hour_later_to_staff(w):
    s = w["s"]
    _opt_in(w)
    staff = f.staff(s, w["com"])
    s.commit()
    deadline = datetime(2026, 3, 2, 10, 0, tzinfo=SH).astimezone(UTC)
    assert checkins.check_deadlines(session=s, now=deadline - timedelta(minutes=1)) == {
        "family": 0, "staff": 0, "answered": 0}
    assert checkins.check_deadlines(session=s, now=deadline)["family"] == 1
    assert checkins.check_deadlines(session=s, now=deadline + timedelta(minutes=30))["family"] == 0
    missing = checkins.missing_checkins(session=s, user=staff, day=None, now=deadline + timedelta(minutes=30))
    assert [m.senior_id for m in missing] == [w["senior"].id] and missing[0].staff_alerted_at is None
    assert checkins.check_deadlines(session=s, now=deadline + timedelta(minutes=60))["staff"] == 1
    assert checkins.check_deadlines(session=s, now=deadline + timedelta(minutes=90)) == {
        "family": 0, "staff": 0, "answered": 0}
    missed = _events(s, "checkin_missed")
    assert [(e.user_id, e.community_id) for e in missed] == [(w["family"].id, None), (None, w["com"].id)]
    checkins.check_in(session=s, user=w["owner"], senior_id=w["senior"].id, now=deadline + timedelta(minutes=95))
    ok = _events(s, "checkin_ok")
    assert {(e.user_id, e.community_id) for e in ok} == {(w["family"].id, None), (None, w["com"].id)}
    assert checkins.missing_checkins(session=s, user=staff, day=None, now=deadline + timedelta(hours=2)) == []


def test_a_check_in_just_before_the_deadline_raises_nothing(w):
    s = w["s"]
    _opt_in(w)
    deadline = datetime(2026, 3, 2, 10, 0, tzinfo=SH).astimezone(UTC)
    checkins.check_in(session=s, user=w["owner"], senior_id=w["senior"].id, now=deadline - timedelta(seconds=30))
    again = checkins.check_in(session=s, user=w["owner"], senior_id=w["senior"].id, now=deadline)
    assert again.at == deadline - timedelta(seconds=30)
    for minutes in (0, 1, 61, 300):
        assert checkins.check_deadlines(session=s, now=deadline + timedelta(minutes=minutes)) == {
            "family": 0, "staff": 0, "answered": 0}
    assert _events(s, "checkin_missed") == []


def test_a_visit_that_day_counts_as_seen(w):
    s = w["s"]
    _opt_in(w)
    visit = ServiceRequest(senior_id=w["senior"].id, community_id=w["com"].id, service_type="meal",
                           status=RequestStatus.IN_SERVICE, scheduled_start=NOW, scheduled_end=NOW + timedelta(hours=1),
                           checkin_at=NOW + timedelta(minutes=5), provider_id=w["near"].id, created_by=w["owner"].id)
    s.add(visit)
    s.commit()
    deadline = datetime(2026, 3, 2, 10, 0, tzinfo=SH).astimezone(UTC)
    assert checkins.check_deadlines(session=s, now=deadline + timedelta(minutes=5))["family"] == 0


def test_no_family_means_staff_at_once_and_only_staff_see_the_list(w):
    s = w["s"]
    alone_user = f.user(s, Role.SENIOR)
    alone = f.senior(s, w["com"], owner=alone_user)
    s.commit()
    checkins.set_checkin(session=s, user=alone_user, senior_id=alone.id, now=NOW,
                         data=CheckinSettingUpdate(enabled=True, deadline="09:00"))
    assert checkins.check_deadlines(session=s, now=NOW + timedelta(hours=1, minutes=1))["staff"] == 1
    with pytest.raises(Forbidden):
        checkins.missing_checkins(session=s, user=w["family"], day=None, now=NOW)

