from datetime import timedelta

import pytest

from dispatch.catalog import CareLevel, ProviderStatus, ServiceType
from dispatch.geo import great_circle_km
from dispatch.matching import (Ineligibility, Weights, ineligibility, position_of, priority_of,
                               rank)


# --- position ---------------------------------------------------------------------------------

def test_fresh_duty_position_wins(make_provider, now, beihu, move):
    duty = move(*beihu, north_km=2)
    p = make_provider(1, duty_lat=duty[0], duty_lon=duty[1], duty_updated_at=now - timedelta(minutes=29))
    assert position_of(p, now) == duty


@pytest.mark.parametrize("change", [
    {"duty_updated_at": "stale"}, {"on_duty": False}, {"duty_lat": None}, {"duty_updated_at": None}])
def test_otherwise_the_base(make_provider, now, beihu, move, change):
    duty = move(*beihu, north_km=2)
    fields = {"duty_lat": duty[0], "duty_lon": duty[1], "duty_updated_at": now - timedelta(minutes=5)}
    fields.update(change)
    if fields["duty_updated_at"] == "stale":
        fields["duty_updated_at"] = now - timedelta(minutes=31)
    assert position_of(make_provider(1, **fields), now) == beihu


# --- eligibility, rule by rule ---------------------------------------------------------------

def test_a_plain_provider_is_eligible(make_provider, make_request, now):
    assert ineligibility(make_provider(1), make_request(), now) is None


@pytest.mark.parametrize(("status", "code"), [
    (ProviderStatus.PENDING, Ineligibility.NOT_VERIFIED),
    (ProviderStatus.SUSPENDED, Ineligibility.SUSPENDED),
    (ProviderStatus.BLACKLISTED, Ineligibility.BLACKLISTED)])
def test_only_verified_providers(make_provider, make_request, now, status, code):
    assert ineligibility(make_provider(1, status=status), make_request(), now) == code


def test_must_offer_the_service(make_provider, make_request, now):
    p = make_provider(1, services=frozenset({ServiceType.CLEANING}))
    assert ineligibility(p, make_request(), now) == "service_not_offered"
    assert ineligibility(p, make_request(service_type=ServiceType.CLEANING), now) is None


def test_asap_needs_on_duty_but_a_booking_does_not(make_provider, make_request, now):
    p = make_provider(1, on_duty=False)
    assert ineligibility(p, make_request(asap=True), now) == "off_duty"
    later = make_request(asap=False, start=now + timedelta(days=1), end=now + timedelta(days=1, hours=1))
    assert ineligibility(p, later, now) is None


def test_must_be_free_at_that_time(make_provider, make_request, now):
    req = make_request()
    clash = make_provider(1, busy=((now + timedelta(minutes=30), now + timedelta(hours=2)),))
    before = make_provider(2, busy=((now - timedelta(hours=1), now),))  # ends as ours starts
    after = make_provider(3, busy=((req.end, req.end + timedelta(hours=1)),))
    assert ineligibility(clash, req, now) == "busy"
    assert ineligibility(before, req, now) is None
    assert ineligibility(after, req, now) is None


def test_senior_must_lie_within_the_radius_of_the_position(make_provider, make_request, now, beihu, move):
    senior = move(*beihu, east_km=4.0)
    km = great_circle_km(*beihu, *senior)
    req = make_request(at=senior)
    assert ineligibility(make_provider(1, service_radius_km=km + 0.01), req, now) is None
    assert ineligibility(make_provider(1, service_radius_km=km - 0.01), req, now) == "out_of_range"


def test_radius_uses_the_fresh_duty_position(make_provider, make_request, now, beihu, move):
    senior = move(*beihu, north_km=8.0)
    duty = move(*beihu, north_km=7.0)
    fresh = make_provider(1, duty_lat=duty[0], duty_lon=duty[1], duty_updated_at=now - timedelta(minutes=1))
    stale = make_provider(2, duty_lat=duty[0], duty_lon=duty[1], duty_updated_at=now - timedelta(hours=2))
    req = make_request(at=senior)
    assert ineligibility(fresh, req, now) is None
    assert ineligibility(stale, req, now) == "out_of_range"


def test_rules_are_checked_in_order(make_provider, make_request, now):
    p = make_provider(1, status=ProviderStatus.BLACKLISTED, on_duty=False, services=frozenset())
    assert ineligibility(p, make_request(), now) == "blacklisted"


# --- ranking ----------------------------------------------------------------------------------

def _ids(ranked):
    return [c.provider_id for c in ranked]


def _ring(make_provider, move, beihu, kms, **kw):
    return [make_provider(i + 1, at=move(*beihu, east_km=km), **kw) for i, km in enumerate(kms)]


def test_nearest_first_without_history(make_provider, make_request, now, beihu, move):
    providers = _ring(make_provider, move, beihu, [3.0, 0.5, 2.0, 1.0])
    ranked = rank(make_request(), providers, now=now)
    assert _ids(ranked) == [2, 4, 3, 1]
    assert [c.distance_km for c in ranked] == sorted(c.distance_km for c in ranked)


def test_continuity_boosts_a_slightly_farther_provider(make_provider, make_request, now, beihu, move):
    providers = _ring(make_provider, move, beihu, [1.0, 2.0])
    assert _ids(rank(make_request(), providers, now=now, history={2: 3})) == [2, 1]
    # ... but does not beat a provider several km nearer: distance dominates.
    far = _ring(make_provider, move, beihu, [0.5, 4.5])
    assert _ids(rank(make_request(), far, now=now, history={2: 10})) == [1, 2]
    reasons = {r.code: r for r in rank(make_request(), providers, now=now, history={2: 3})[0].reasons}
    assert reasons["continuity"].label_zh == "曾服务该老人 3 次"
    assert reasons["continuity"].label_en == "served this senior 3 times"


def test_ineligible_providers_never_appear(make_provider, make_request, now, beihu, move):
    req = make_request()
    providers = [
        make_provider(1, status=ProviderStatus.BLACKLISTED),
        make_provider(2, busy=((now, now + timedelta(hours=3)),)),
        make_provider(3, on_duty=False),
        make_provider(4, at=move(*beihu, north_km=20)),
        make_provider(5, at=move(*beihu, north_km=1)),
    ]
    assert _ids(rank(req, providers, now=now, history={1: 50, 2: 50})) == [5]


def test_stale_duty_position_falls_back_to_base(make_provider, make_request, now, beihu, move):
    near_duty = move(*beihu, north_km=0.2)
    base = move(*beihu, north_km=3.0)
    stale = make_provider(1, at=base, duty_lat=near_duty[0], duty_lon=near_duty[1],
                          duty_updated_at=now - timedelta(hours=1))
    other = make_provider(2, at=move(*beihu, north_km=1.5))
    ranked = rank(make_request(), [stale, other], now=now)
    assert _ids(ranked) == [2, 1]
    assert ranked[1].distance_km == pytest.approx(great_circle_km(*base, *beihu))


def test_bayesian_rating_one_five_star_does_not_beat_fifty_good_ones(make_provider, make_request, now):
    newbie = make_provider(1, rating_avg=5.0, rating_count=1)
    veteran = make_provider(2, rating_avg=4.8, rating_count=50)
    unrated = make_provider(3)
    ranked = rank(make_request(), [newbie, veteran, unrated], now=now)
    assert _ids(ranked) == [2, 1, 3]
    labels = {r.code: (r.label_zh, r.label_en) for r in ranked[0].reasons}
    assert labels["rating"] == ("评分 4.8（50 条）", "rated 4.8 (50 ratings)")


def test_credit_and_load_lower_the_score(make_provider, make_request, now):
    ranked = rank(make_request(), [make_provider(1, credit_score=40), make_provider(2),
                                   make_provider(3, active_load=2)], now=now)
    assert _ids(ranked) == [2, 3, 1]
    by_id = {c.provider_id: {r.code: r for r in c.reasons} for c in ranked}
    assert by_id[1]["credit"].label_zh == "信用分 40" and by_id[1]["credit"].points < 0
    assert by_id[3]["load"].label_zh == "当前任务 2 个" and by_id[3]["load"].label_en == "2 jobs in hand"
    assert "load" not in by_id[2]


def test_certifications_earn_points_in_proportion(make_provider, make_request, now):
    req = make_request(required_certifications=frozenset({"护理员", "急救"}))
    both = make_provider(1, certifications=frozenset({"护理员", "急救", "厨师"}))
    one = make_provider(2, certifications=frozenset({"急救"}))
    none = make_provider(3)
    ranked = rank(req, [none, one, both], now=now)
    assert _ids(ranked) == [1, 2, 3]
    cert = {c.provider_id: next(r for r in c.reasons if r.code == "certification") for c in ranked}
    assert cert[1].points == pytest.approx(2 * cert[2].points) and cert[3].points == 0
    assert cert[1].label_zh == "持有证书 急救、护理员"


def test_score_is_the_sum_of_its_reasons(make_provider, make_request, now, beihu, move):
    p = make_provider(1, at=move(*beihu, east_km=2.1), rating_avg=4.0, rating_count=8,
                      credit_score=92, active_load=1)
    [c] = rank(make_request(), [p], now=now, history={1: 2})
    w = Weights()
    assert c.score == pytest.approx(w.base + sum(r.points for r in c.reasons))
    distance = c.reasons[0]
    assert (distance.code, distance.label_zh, distance.label_en) == ("distance", "距离 2.1 公里", "2.1 km away")
    assert {r.code for r in c.reasons} == {"distance", "continuity", "rating", "credit", "load"}


def test_ties_go_to_the_nearer_then_the_lower_id(make_provider, make_request, now, beihu, move):
    here = move(*beihu, east_km=1.0)
    providers = [make_provider(i, at=here) for i in (8, 3, 5)]
    assert _ids(rank(make_request(), providers, now=now)) == [3, 5, 8]
    # Same score but different distances: possible when a farther one earns exactly the gap.
    near, far = make_provider(9, at=move(*beihu, east_km=1.0)), make_provider(2, at=move(*beihu, east_km=1.5))
    w = Weights(per_km=0.0)
    assert _ids(rank(make_request(), [far, near], now=now, weights=w)) == [9, 2]


def test_ranking_is_deterministic_under_input_order(make_provider, make_request, now, beihu, move):
    providers = _ring(make_provider, move, beihu, [0.3, 1.2, 1.2, 2.5, 0.9], rating_avg=4.6, rating_count=3)
    a = rank(make_request(), providers, now=now)
    b = rank(make_request(), list(reversed(providers)), now=now)
    assert a == b


@pytest.mark.parametrize(("level", "expected"), [
    (CareLevel.SEVERE, 3), (CareLevel.MODERATE, 2), (CareLevel.MILD, 1), (CareLevel.INDEPENDENT, 0), (None, 0)])
def test_priority(make_request, level, expected):
    assert priority_of(make_request(care_level=level)) == expected
