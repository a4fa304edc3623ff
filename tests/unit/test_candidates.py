"""A request's candidates for manual assignment: every rule a provider fails, and the list staff see
(eligible ones in rank()'s order, then near ones not eligible)."""
from datetime import timedelta

import pytest
from hypothesis import given, settings, strategies as st

from dispatch.candidates import blocked_reasons, candidate_list
from dispatch.catalog import ProviderStatus, ServiceType
from dispatch.matching import Ineligibility, ineligibilities, ineligibility, rank
from tests.unit.conftest import BEIHU, NOW, offset, provider, request


def test_an_eligible_provider_fails_no_rule(make_provider, make_request, now):
    why, km = blocked_reasons(make_provider(1), make_request(), now)
    assert why == () and km == pytest.approx(0.0, abs=1e-6)


def test_every_failed_rule_is_listed_in_order_with_words(make_provider, make_request, now, move):
    far = move(*BEIHU, north_km=8)
    p = make_provider(1, status=ProviderStatus.SUSPENDED, services=frozenset({ServiceType.CLEANING}),
                      on_duty=False, base_lat=far[0], base_lon=far[1],
                      busy=((now, now + timedelta(hours=2)),))
    why, km = blocked_reasons(p, make_request(), now)
    assert [b.code for b in why] == ["suspended", "service_not_offered", "off_duty", "busy", "out_of_range"]
    assert km == pytest.approx(8.0, rel=0.01)
    assert all(b.label_zh and b.label_en for b in why)
    assert why[-1].label_en == "outside their 5.0 km service radius"
    assert why[1].label_zh == "不提供此项服务"


@pytest.mark.parametrize(("change", "code"), [
    ({"status": ProviderStatus.PENDING}, Ineligibility.NOT_VERIFIED),
    ({"status": ProviderStatus.BLACKLISTED}, Ineligibility.BLACKLISTED),
    ({"on_duty": False}, Ineligibility.OFF_DUTY),
    ({"service_radius_km": 0.5, "base_lat": offset(*BEIHU, north_km=1)[0]}, Ineligibility.OUT_OF_RANGE)])
def test_one_rule_failed_alone(make_provider, make_request, now, change, code):
    failed, _km = ineligibilities(make_provider(1, **change), make_request(), now)
    assert failed == (code,)


_statuses = st.sampled_from(list(ProviderStatus))
_services = st.frozensets(st.sampled_from(list(ServiceType)), max_size=3)


@settings(max_examples=300, deadline=None)
@given(status=_statuses, services=_services, on_duty=st.booleans(), asap=st.booleans(),
       north=st.floats(0, 12), radius=st.floats(0.5, 10), busy_from=st.integers(-180, 180))
def test_the_first_rule_listed_is_the_one_dispatch_applies(status, services, on_duty, asap, north, radius,
                                                            busy_from):
    at = offset(*BEIHU, north_km=north)
    start = NOW + timedelta(minutes=busy_from)
    p = provider(1, status=status, services=services, on_duty=on_duty, base_lat=at[0], base_lon=at[1],
                 service_radius_km=radius, busy=((start, start + timedelta(minutes=60)),))
    req = request(asap=asap)
    failed, _km = ineligibilities(p, req, NOW)
    assert (failed[0] if failed else None) == ineligibility(p, req, NOW)
    assert bool(failed) == (rank(req, [p], now=NOW) == [])


def _mixed(move):
    """Eight providers: five eligible at different distances and records, three blocked ones."""
    def at(km):
        return dict(zip(("base_lat", "base_lon"), move(*BEIHU, north_km=km)))

    return [provider(1, **at(2.0)), provider(2, **at(0.5), credit_score=60), provider(3, **at(1.0), rating_avg=5.0,
                                                                                      rating_count=40),
            provider(4, **at(3.0)), provider(5, **at(0.2), active_load=2),
            provider(6, **at(0.1), on_duty=False), provider(7, **at(0.3), status=ProviderStatus.SUSPENDED),
            provider(8, **at(4.0), services=frozenset({ServiceType.CLEANING}))]


def test_eligible_ones_come_in_ranks_order_then_the_blocked_nearest_first(move, now):
    providers, history = _mixed(move), {4: 3}
    req = request()
    listed = candidate_list(req, providers, now=now, history=history)
    ranked = rank(req, providers, now=now, history=history)
    assert [c.provider_id for c in listed if c.eligible] == [c.provider_id for c in ranked]
    assert [(c.score, c.reasons) for c in listed if c.eligible] == [(c.score, c.reasons) for c in ranked]
    assert [c.provider_id for c in listed[len(ranked):]] == [6, 7, 8]
    assert all(not c.eligible and c.score is None and c.reasons == () for c in listed[len(ranked):])
    assert [[b.code for b in c.blocked] for c in listed[len(ranked):]] == [
        ["off_duty"], ["suspended"], ["service_not_offered"]]


def test_at_most_limit_and_only_near_blocked_ones(move, now):
    providers = _mixed(move)
    assert [c.provider_id for c in candidate_list(request(), providers, now=now, limit=3)] == \
        [c.provider_id for c in rank(request(), providers, now=now)][:3]
    listed = candidate_list(request(), providers, now=now, limit=7)
    assert [c.provider_id for c in listed][5:] == [6, 7]
    near = candidate_list(request(), providers, now=now, near_km=1.0)
    assert [c.provider_id for c in near if not c.eligible] == [6, 7]
