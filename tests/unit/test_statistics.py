"""Statistics: percentiles, the accept and arrival durations, the fulfilment rate."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.statistics import Timing, accept_minutes, arrival_minutes, fulfilment_rate, percentiles, seconds_between

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_percentiles_interpolate_linearly_between_ranks():
    assert percentiles([2, 4, 10]) == {"p50": 4.0, "p90": 8.8, "p95": 9.4}
    assert percentiles(range(1, 101), digits=2) == {"p50": 50.5, "p90": 90.1, "p95": 95.05}
    assert percentiles([1.26]) == {"p50": 1.3, "p90": 1.3, "p95": 1.3}  # one decimal unless asked
    assert percentiles([30, 90], (50, 90)) == {"p50": 60.0, "p90": 84.0}


def test_percentiles_without_a_sample_are_none():
    assert percentiles([]) == {"p50": None, "p90": None, "p95": None}
    assert percentiles(iter([]), (50, 90)) == {"p50": None, "p90": None}


def test_asap_requests_are_timed_from_booking_to_assignment_to_check_in():
    t = Timing(asap=True, created_at=at(0), scheduled_start=at(0), first_offer_at=at(1), assigned_at=at(5),
               checkin_at=at(25))
    assert accept_minutes(t) == 5.0
    assert arrival_minutes(t) == 20.0


def test_scheduled_requests_are_timed_from_the_first_offer_and_by_lateness():
    t = Timing(asap=False, created_at=at(-3000), scheduled_start=at(60), first_offer_at=at(0), assigned_at=at(12),
               checkin_at=at(67))
    assert accept_minutes(t) == 12.0
    assert arrival_minutes(t) == 7.0
    early = Timing(asap=False, created_at=at(-3000), scheduled_start=at(60), first_offer_at=None,
                   assigned_at=at(-2990), checkin_at=at(55))
    assert accept_minutes(early) == 10.0  # assigned by hand, no offer: from the booking
    assert arrival_minutes(early) == 0.0  # early is not late


def test_unfinished_or_skewed_requests_give_no_sample():
    assert accept_minutes(Timing(True, at(0), at(0), None, None, None)) is None
    assert arrival_minutes(Timing(True, at(0), at(0), None, at(5), None)) is None
    assert arrival_minutes(Timing(False, at(0), at(60), None, None, at(70))) is None
    assert accept_minutes(Timing(True, at(10), at(10), None, at(9), None)) is None  # assigned "before" booking
    assert seconds_between(at(0), at(-1)) is None
    assert seconds_between(at(0), at(1.5)) == 90.0
    assert seconds_between(at(0), None) is None


@pytest.mark.parametrize("requests, completed, cancelled, rate", [
    (10, 6, 2, 0.75), (3, 0, 3, None), (0, 0, 0, None), (3, 1, 0, 0.3333)])
def test_fulfilment_is_completed_over_requests_not_cancelled(requests, completed, cancelled, rate):
    assert fulfilment_rate(requests, completed, cancelled) == rate
