from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.catalog import CareLevel
from dispatch.geo import great_circle_km
from dispatch.lifecycle import OfferStatus
from dispatch.matching import ScoredCandidate, priority_of, rank
from dispatch.offers import NO_CANDIDATES, WAVES_EXHAUSTED, WavePolicy, is_expired, plan_wave, wave_finished


def _cands(n):
    """n candidates already ranked best first, nearest first too."""
    return [ScoredCandidate(i, 100.0 - i, 0.1 * i, ()) for i in range(1, n + 1)]


def test_wave_sizes_grow(now):
    ranked = _cands(50)
    offered: set[int] = set()
    sizes = []
    for wave in (1, 2, 3):
        d = plan_wave(ranked, already_offered=offered, wave_number=wave, priority=0, now=now, asap=True)
        assert not d.escalate and d.reason == f"wave_{wave}"
        assert not offered & set(d.provider_ids)  # nobody is offered twice
        offered |= set(d.provider_ids)
        sizes.append(len(d.provider_ids))
    assert sizes == [3, 6, 12]
    assert offered == set(range(1, 22))  # best first, in ranking order


def test_escalate_after_max_waves(now):
    d = plan_wave(_cands(50), already_offered=set(), wave_number=4, priority=0, now=now, asap=True)
    assert d.escalate and d.reason == WAVES_EXHAUSTED and d.provider_ids == () and d.expires_at is None


def test_escalate_when_nobody_new_is_left(now):
    ranked = _cands(4)
    first = plan_wave(ranked, already_offered=set(), wave_number=1, priority=0, now=now, asap=True)
    second = plan_wave(ranked, already_offered=set(first.provider_ids), wave_number=2, priority=0,
                       now=now, asap=True)
    assert second.provider_ids == (4,)  # a short last wave is still a wave
    third = plan_wave(ranked, already_offered={1, 2, 3, 4}, wave_number=3, priority=0, now=now, asap=True)
    assert third.escalate and third.reason == NO_CANDIDATES
    assert plan_wave([], already_offered=set(), wave_number=1, priority=0, now=now, asap=True).escalate


def test_wave_numbers_are_one_based(now):
    with pytest.raises(ValueError):
        plan_wave(_cands(3), already_offered=set(), wave_number=0, priority=0, now=now, asap=True)


def test_ttl_for_asap_and_scheduled(now):
    asap = plan_wave(_cands(5), already_offered=set(), wave_number=1, priority=0, now=now, asap=True)
    later = plan_wave(_cands(5), already_offered=set(), wave_number=1, priority=0, now=now, asap=False)
    assert asap.expires_at == now + timedelta(seconds=90)
    assert later.expires_at == now + timedelta(minutes=10)


def test_priority_widens_the_waves_and_shortens_the_ttl(now):
    severe = plan_wave(_cands(50), already_offered=set(), wave_number=1, priority=3, now=now, asap=True)
    sos = plan_wave(_cands(50), already_offered=set(), wave_number=1, priority=4, now=now, asap=True)
    assert len(severe.provider_ids) == 6 and len(sos.provider_ids) == 7
    assert severe.expires_at == now + timedelta(seconds=49.5)
    assert sos.expires_at == now + timedelta(seconds=36)
    policy = WavePolicy()
    assert policy.wave_size(2, 3) == 12 and policy.wave_size(3, 3) == 24
    assert policy.ttl(100, True) == policy.min_offer_ttl  # never below the floor


def test_nearest_takes_the_last_first_wave_seat(now):
    ranked = [ScoredCandidate(1, 90, 2.0, ()), ScoredCandidate(2, 89, 2.5, ()),
              ScoredCandidate(3, 88, 1.5, ()), ScoredCandidate(4, 87, 0.4, ())]
    d = plan_wave(ranked, already_offered=set(), wave_number=1, priority=0, now=now, asap=True)
    assert d.provider_ids == (1, 2, 4)
    d2 = plan_wave(ranked, already_offered=set(d.provider_ids), wave_number=2, priority=0, now=now, asap=True)
    assert d2.provider_ids == (3,)


def test_later_waves_do_not_force_the_nearest(now):
    ranked = [ScoredCandidate(i, 100 - i, 5.0 - 0.1 * i, ()) for i in range(1, 20)]
    d = plan_wave(ranked, already_offered={1, 2, 3}, wave_number=2, priority=0, now=now, asap=True)
    assert d.provider_ids == (4, 5, 6, 7, 8, 9)


def test_is_expired(now):
    assert not is_expired(None, now)
    assert not is_expired(now + timedelta(seconds=1), now)
    assert is_expired(now, now)
    assert is_expired(now - timedelta(seconds=1), now)


def test_wave_finished():
    assert wave_finished([OfferStatus.DECLINED, OfferStatus.EXPIRED, "withdrawn"])
    assert wave_finished([])
    assert not wave_finished([OfferStatus.DECLINED, OfferStatus.OFFERED])


provider_rows = st.lists(
    st.tuples(st.floats(-4.0, 4.0), st.floats(-4.0, 4.0),  # km north/east of the senior
              st.one_of(st.none(), st.floats(1.0, 5.0)), st.integers(0, 200),  # rating, count
              st.integers(0, 100), st.integers(0, 4)),  # credit, load
    min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(provider_rows, st.sampled_from([None, *CareLevel]))
def test_nearest_eligible_is_always_in_the_first_wave(make_provider, make_request, move, now, beihu,
                                                      rows, care_level):
    providers = [make_provider(i + 1, at=move(*beihu, north_km=n, east_km=e), rating_avg=r,
                               rating_count=c if r is not None else 0, credit_score=cr, active_load=load,
                               service_radius_km=6.0)
                 for i, (n, e, r, c, cr, load) in enumerate(rows)]
    req = make_request(care_level=care_level)
    ranked = rank(req, providers, now=now)  # no history: the guarantee applies
    d = plan_wave(ranked, already_offered=set(), wave_number=1, priority=priority_of(req), now=now, asap=True)
    nearest_km = min(great_circle_km(p.base_lat, p.base_lon, *beihu) for p in providers)
    nearest = [p.id for p in providers if great_circle_km(p.base_lat, p.base_lon, *beihu) == nearest_km]
    assert min(nearest) in d.provider_ids
    assert len(d.provider_ids) == min(len(ranked), WavePolicy().wave_size(1, priority_of(req)))
    assert len(set(d.provider_ids)) == len(d.provider_ids)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 100), st.floats(0, 10)), max_size=60), st.integers(0, 4))
def test_waves_never_repeat_and_end_in_escalation(now, rows, priority):
    ranked = sorted((ScoredCandidate(i, s, d, ()) for i, (s, d) in enumerate(rows)),
                    key=lambda c: -c.score)
    offered: set[int] = set()
    for wave in range(1, 10):
        d = plan_wave(ranked, already_offered=offered, wave_number=wave, priority=priority, now=now, asap=False)
        if d.escalate:
            break
        assert not offered & set(d.provider_ids)
        offered |= set(d.provider_ids)
    assert d.escalate and wave <= WavePolicy().max_waves + 1
    assert offered <= {c.provider_id for c in ranked}
