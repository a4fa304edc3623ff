"""What each event tells whom, in which words; delivery statuses and retry timing (pure, no app)."""
from datetime import datetime, time, timedelta, timezone

import pytest

from dispatch.catalog import Role
from dispatch.deliveries import (DeliveryStatus, RetryPolicy, Verdict, after_attempt, check_delivery_transition,
                                 verdict_for_status)
from dispatch.lifecycle import InvalidTransition
from dispatch.notices import in_quiet_hours, notice_for, text

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)


def test_delivery_table_allows_retry_and_ends_in_final_states():
    check_delivery_transition(DeliveryStatus.QUEUED, DeliveryStatus.QUEUED)
    for final in (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.GONE):
        check_delivery_transition(DeliveryStatus.QUEUED, final)
        with pytest.raises(InvalidTransition):
            check_delivery_transition(final, DeliveryStatus.QUEUED)


@pytest.mark.parametrize("status,verdict", [(201, Verdict.SENT), (404, Verdict.GONE), (410, Verdict.GONE),
                                            (429, Verdict.RETRY), (500, Verdict.RETRY), (503, Verdict.RETRY),
                                            (413, Verdict.REFUSED), (400, Verdict.REFUSED), (403, Verdict.REFUSED),
                                            (307, Verdict.REFUSED)])
def test_push_service_answers(status, verdict):
    assert verdict_for_status(status) is verdict


def test_backoff_grows_is_capped_jittered_and_yields_to_retry_after():
    policy = RetryPolicy(base_seconds=5, cap_seconds=60, max_attempts=5)
    assert [policy.delay(n, 0.0) for n in (1, 2, 3, 4, 5, 6)] == [2.5, 5, 10, 20, 30, 30]
    assert [policy.delay(n, 0.999) for n in (1, 5)] == pytest.approx([5, 60], abs=0.1)
    assert policy.delay(1, 0.5, retry_after=120) == 120
    assert after_attempt(Verdict.RETRY, 4, policy) is DeliveryStatus.QUEUED
    assert after_attempt(Verdict.RETRY, 5, policy) is DeliveryStatus.FAILED
    assert after_attempt(Verdict.REFUSED, 1, policy) is DeliveryStatus.FAILED


def test_an_offer_is_for_the_provider_lives_until_it_expires_and_ignores_quiet_hours():
    offer = {"offer": {"id": 3, "request_id": 9, "service_type": "bathing",
                       "expires_at": (NOW + timedelta(seconds=75)).isoformat()}}
    n = notice_for("offer_created", offer, Role.PROVIDER, now=NOW)
    assert (n.kind, n.ttl, n.urgency, n.topic, n.url, n.bypass_quiet, n.urgent) == (
        "offer", 75, "high", "offer3", "/", True, False)
    assert text(n, "zh-CN") == ("新的服务单 · 助浴", "附近有一单助浴，请尽快查看并接单。")
    assert notice_for("offer_created", offer, Role.FAMILY, now=NOW) is None
    withdrawn = notice_for("offer_withdrawn", {"offer_id": 3}, Role.PROVIDER, now=NOW)
    assert withdrawn.topic == n.topic  # "taken" replaces "new job" on the phone


@pytest.mark.parametrize("status,role,kind", [
    ("assigned", Role.SENIOR, "request_assigned"), ("en_route", Role.FAMILY, "request_en_route"),
    ("in_service", Role.FAMILY, "request_arrived"), ("completed", Role.SENIOR, "request_completed"),
    ("cancelled", Role.PROVIDER, "request_cancelled"), ("escalated", Role.CENTER_STAFF, "request_escalated"),
    ("en_route", Role.PROVIDER, None), ("offering", Role.FAMILY, None), ("completed", Role.CENTER_STAFF, None),
])
def test_request_changes_reach_who_did_not_make_them(status, role, kind):
    n = notice_for("request_updated", {"request": {"id": 4, "status": status, "service_type": "meal"}}, role, now=NOW)
    assert (n.kind if n else None) == kind
    if n:
        assert n.topic == "req4" and n.ttl > 0


def test_urgent_kinds_go_by_sms_to_family_and_responders():
    sos = {"sos": {"id": 5, "senior_id": 2, "status": "open", "senior_name": "王秀兰"}}
    assert notice_for("sos_alert", sos, Role.FAMILY, now=NOW).urgent
    assert notice_for("sos_alert", sos, Role.PROVIDER, now=NOW).urgent
    assert not notice_for("sos_alert", sos, Role.CENTER_STAFF, now=NOW).urgent  # the console shows it
    assert notice_for("sos_alert", sos, Role.SENIOR, now=NOW) is None  # they pressed it
    escalated = {"request": {"id": 4, "status": "escalated", "service_type": "meal"}}
    assert notice_for("request_updated", escalated, Role.FAMILY, now=NOW).urgent
    late = notice_for("care_visit_late", escalated, Role.PROVIDER, now=NOW)
    assert late.urgent and late.kind == "visit_not_started" and late.url == "/job/4"
    assert not notice_for("care_visit_late", escalated, Role.CENTER_STAFF, now=NOW).urgent
    missed = notice_for("checkin_missed", {"checkin": {"senior_id": 2, "senior_name": "王秀兰"}}, Role.FAMILY, now=NOW)
    assert missed.urgent and text(missed, "zh-CN")[0] == "今日未报平安 · 王秀兰"
    ack = notice_for("sos_updated", {"sos": {**sos["sos"], "status": "acknowledged"}}, Role.SENIOR, now=NOW)
    assert ack.kind == "sos_acknowledged" and not ack.urgent and ack.topic == "sos5"


def test_a_tap_opens_the_apps_own_screens():
    request = {"request": {"id": 4, "status": "cancelled", "service_type": "meal", "senior_id": 8}}
    assert notice_for("request_updated", request, Role.PROVIDER, now=NOW).url == "/job/4"
    assert notice_for("request_updated", request, Role.FAMILY, now=NOW).url == "/senior/8"
    assert notice_for("request_updated", request, Role.SENIOR, now=NOW).url == "/"
    sos = {"sos": {"id": 5, "senior_id": 8, "status": "open"}}
    assert [notice_for("sos_alert", sos, r, now=NOW).url for r in (Role.FAMILY, Role.PROVIDER, Role.CENTER_STAFF)] == [
        "/senior/8", "/", "/"]


def test_texts_are_short_and_in_the_users_language():
    n = notice_for("request_updated", {"request": {"id": 4, "status": "en_route", "service_type": "medical"}},
                   Role.FAMILY, now=NOW)
    assert text(n, "en") == ("On the way", "Your medical help carer is on the way.")
    assert text(n, "zh-CN") == ("服务人员在路上", "助医服务人员正在赶来。")


def test_quiet_hours_may_wrap_past_midnight():
    assert in_quiet_hours(time(23, 30), time(22, 0), time(7, 0))
    assert in_quiet_hours(time(6, 59), time(22, 0), time(7, 0))
    assert not in_quiet_hours(time(7, 0), time(22, 0), time(7, 0))
    assert in_quiet_hours(time(13, 0), time(12, 0), time(14, 0))
    assert not in_quiet_hours(time(13, 0), None, None)
