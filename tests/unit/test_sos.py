from datetime import timedelta

from dispatch.catalog import ProviderStatus, ServiceType
from dispatch.geo import great_circle_km
from dispatch.sos import SOS_ACK_TIMEOUT, nearest_responders, sos_needs_escalation


def test_nearest_on_duty_verified_within_radius(make_provider, move, beihu, now):
    ps = [
        make_provider(1, at=move(*beihu, north_km=1.0)),
        make_provider(2, at=move(*beihu, north_km=0.5), services=frozenset({ServiceType.CLEANING})),
        make_provider(3, at=move(*beihu, north_km=0.2), on_duty=False),
        make_provider(4, at=move(*beihu, north_km=0.1), status=ProviderStatus.SUSPENDED),
        make_provider(5, at=move(*beihu, north_km=3.5)),  # outside 3 km
        make_provider(6, at=move(*beihu, east_km=2.0)),
    ]
    providers = {p.id: p for p in ps}
    got = nearest_responders(providers, *beihu, now=now)
    assert [i for i, _ in got] == [2, 1, 6]  # any service counts
    assert got[0][1] == great_circle_km(ps[1].base_lat, ps[1].base_lon, *beihu)


def test_fresh_duty_position_is_used_not_the_base(make_provider, move, beihu, now):
    far_base, near_duty = move(*beihu, north_km=20), move(*beihu, east_km=0.3)
    roaming = make_provider(1, at=far_base, duty_lat=near_duty[0], duty_lon=near_duty[1],
                            duty_updated_at=now - timedelta(minutes=2))
    stale = make_provider(2, at=far_base, duty_lat=near_duty[0], duty_lon=near_duty[1],
                          duty_updated_at=now - timedelta(hours=3))
    home = make_provider(3, at=move(*beihu, north_km=1.0))
    providers = {1: roaming, 2: stale, 3: home}
    assert [i for i, _ in nearest_responders(providers, *beihu, now=now)] == [1, 3]


def test_limit_radius_and_ties(make_provider, move, beihu, now):
    spot = move(*beihu, north_km=0.4)
    providers = {i: make_provider(i, at=spot) for i in (9, 4, 7, 1, 3, 8, 2)}
    got = nearest_responders(providers, *beihu, now=now)
    assert [i for i, _ in got] == [1, 2, 3, 4, 7]
    assert nearest_responders(providers, *beihu, now=now, limit=2, radius_km=0.3) == []
    assert len(nearest_responders(providers, *beihu, now=now, limit=2)) == 2
    assert nearest_responders({}, *beihu, now=now) == []


def test_sos_escalation_timing(now):
    opened = now - SOS_ACK_TIMEOUT
    assert sos_needs_escalation(opened, None, None, now)
    assert not sos_needs_escalation(opened + timedelta(seconds=1), None, None, now)
    assert not sos_needs_escalation(opened, now - timedelta(seconds=5), None, now)  # acknowledged
    assert not sos_needs_escalation(opened - SOS_ACK_TIMEOUT, None, now - timedelta(minutes=1), now)
    assert sos_needs_escalation(opened - SOS_ACK_TIMEOUT, None, now - SOS_ACK_TIMEOUT, now)
    assert SOS_ACK_TIMEOUT == timedelta(minutes=3)
