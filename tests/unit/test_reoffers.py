"""Which escalated requests are still worth offering again at `now`, and what a newly available
provider is offered (pure domain: no app, no database, no clock of its own)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from dispatch.catalog import ProviderStatus, ServiceType
from dispatch.lifecycle import RequestStatus
from dispatch.reoffers import ReofferPolicy, choose_for_arrival

POLICY = ReofferPolicy()
H = timedelta(hours=1)
M = timedelta(minutes=1)


def wanted(now, *, asap, created_at, start, status=RequestStatus.ESCALATED):
    return POLICY.still_wanted(status=status, asap=asap, created_at=created_at, scheduled_start=start, now=now)


def test_the_bounds_are_written_down():
    assert (POLICY.asap_for, POLICY.scheduled_lead, POLICY.per_arrival) == (2 * H, 30 * M, 3)


@pytest.mark.parametrize("age, expected", [(0 * M, True), (119 * M, True), (120 * M, False), (5 * H, False)])
def test_an_asap_request_is_wanted_for_two_hours_after_it_was_made(now, age, expected):
    made = now - age
    assert wanted(now, asap=True, created_at=made, start=made) is expected


@pytest.mark.parametrize("to_start, expected", [(47 * H, True), (31 * M, True), (30 * M, False), (-M, False)])
def test_a_scheduled_request_is_wanted_until_half_an_hour_before_it_starts(now, to_start, expected):
    # Made long ago: the creation time does not bound a scheduled request.
    assert wanted(now, asap=False, created_at=now - 10 * 24 * H, start=now + to_start) is expected


@pytest.mark.parametrize("status", [s for s in RequestStatus if s != RequestStatus.ESCALATED])
def test_only_escalated_requests_are_offered_again(now, status):
    assert not wanted(now, asap=True, created_at=now, start=now, status=status)


def test_the_query_cutoffs_say_the_same_as_the_rule(now):
    made_after, starting_after = POLICY.cutoffs(now)
    for age in (0 * M, 119 * M, 120 * M, 121 * M):
        assert (now - age > made_after) == wanted(now, asap=True, created_at=now - age, start=now - age)
    for lead in (29 * M, 30 * M, 31 * M):
        assert (now + lead > starting_after) == wanted(now, asap=False, created_at=now, start=now + lead)


def test_a_provider_arriving_is_offered_the_nearest_requests_they_may_take(now, make_provider, make_request, move,
                                                                          beihu):
    provider = make_provider(9, services=frozenset({ServiceType.MEAL}))
    specs = [make_request(id=i, at=move(*beihu, north_km=km)) for i, km in ((1, 4.0), (2, 1.0), (3, 2.0), (4, 3.0))]
    specs += [make_request(id=5, at=move(*beihu, north_km=0.5), service_type=ServiceType.BATHING),  # not offered
              make_request(id=6, at=move(*beihu, north_km=6.0))]  # out of the 5 km radius
    chosen = choose_for_arrival(provider, specs, refused=set(), now=now)
    assert [a.request_id for a in chosen] == [2, 3, 4]  # nearest first, at most three
    assert all(a.candidate.provider_id == 9 for a in chosen)
    assert [a.request_id for a in choose_for_arrival(provider, specs, refused={2, 4}, now=now)] == [3, 1]


def test_an_arrival_follows_the_eligibility_rules(now, make_provider, make_request):
    asap, scheduled = make_request(id=1), make_request(id=2, asap=False)
    off_duty = make_provider(9, on_duty=False)
    assert [a.request_id for a in choose_for_arrival(off_duty, [asap, scheduled], refused=set(), now=now)] == [2]
    pending = make_provider(9, status=ProviderStatus.PENDING)
    assert choose_for_arrival(pending, [asap, scheduled], refused=set(), now=now) == []
    busy = make_provider(9, busy=((now, now + H),))
    assert choose_for_arrival(busy, [asap, scheduled], refused=set(), now=now) == []
