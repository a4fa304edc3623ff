"""Statistics over a constructed history whose counts and percentiles are known."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dispatch.catalog import CommunityKind, ProviderStatus, Role
from dispatch.lifecycle import RequestStatus
from models.requests import ServiceRequest
from models.sos import SosAck, SosAlert
from server.errors import Forbidden, NotFound
from server.services.statistics import period, service_stats, stats_tables
from tests import factories as f

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 10, 9, 0, tzinfo=SH).astimezone(UTC)
NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def world(db_session):
    s = db_session
    town, village = f.community(s), f.community(s, kind=CommunityKind.RURAL, lat=25.5, lon=113.3)
    remote = f.community(s, kind=CommunityKind.RURAL, lat=26.5, lon=112.5)  # nobody reaches it
    f.provider(s, village, lat=25.52, lon=113.3, radius_km=3.0)  # ~2.2 km from the village point
    f.provider(s, village, lat=26.45, lon=112.5, radius_km=3.0, status=ProviderStatus.SUSPENDED)
    booker, p = f.user(s, Role.SENIOR), f.provider(s, town)
    old, young, rural = f.senior(s, town), f.senior(s, town), f.senior(s, village)
    f.senior(s, village)  # a rural senior nobody served

    def req(senior, service="meal", *, asap=True, status=RequestStatus.COMPLETED, created=0.0, offer=None,
            assigned=None, checkin=None, start=None, escalated=False):
        start_at = at(start if start is not None else created)
        row = ServiceRequest(senior_id=senior.id, community_id=senior.community_id, service_type=service, asap=asap,
                             status=status, scheduled_start=start_at, scheduled_end=start_at + timedelta(hours=1),
                             created_by=booker.id, created_at=at(created),
                             first_offer_at=None if offer is None else at(offer),
                             assigned_at=None if assigned is None else at(assigned),
                             checkin_at=None if checkin is None else at(checkin),
                             provider_id=p.id if assigned is not None else None,
                             completed_at=at(checkin + 60) if status == RequestStatus.COMPLETED else None,
                             escalated_at=at(created + 10) if escalated else None)
        s.add(row)

    # Town, meals, ASAP: accept 2, 4, 10 min; arrival 10, 20, 30 min.
    req(old, created=0, offer=0.5, assigned=2, checkin=12)
    req(old, created=100, offer=100.5, assigned=104, checkin=124)
    req(young, created=200, offer=201, assigned=210, checkin=240, escalated=True)
    req(young, created=300, status=RequestStatus.CANCELLED)
    req(young, created=400, status=RequestStatus.ESCALATED, escalated=True)  # still open
    # Village, cleaning, scheduled: offered 60 min before, accepted after 30; 15 min late, then early.
    req(rural, "cleaning", asap=False, created=-3000, offer=0, assigned=30, checkin=75, start=60)
    req(rural, "cleaning", asap=False, created=-3000, offer=None, assigned=-2990, checkin=1400, start=1440)
    # Outside the period (October) and a status nobody reached.
    req(old, created=-20 * 24 * 60, assigned=-20 * 24 * 60 + 1, checkin=-20 * 24 * 60 + 5)
    s.flush()
    responder = f.user(s, Role.FAMILY)
    for opened, acks in ((0, [30, 45]), (60, [90]), (120, [])):
        alert = SosAlert(senior_id=old.id, community_id=town.id, status="resolved", lat=town.lat, lon=town.lon,
                         opened_by=booker.id, opened_at=at(opened))
        s.add(alert)
        s.flush()
        for i, seconds in enumerate(acks):
            who = responder if i == 0 else f.user(s, Role.FAMILY)
            s.add(SosAck(sos_id=alert.id, user_id=who.id, role="family", at=at(opened + seconds / 60)))
    s.commit()
    # On PostgreSQL other tests' committed rows share the schema: the figures are read by staff who
    # answer for exactly these communities (an admin's would count those rows too).
    everywhere = f.staff(s, town, village, remote)
    staff = f.staff(s, town)
    s.commit()
    return {"s": s, "town": town, "village": village, "everywhere": everywhere, "staff": staff}


def _stats(w, user=None, **kw):
    values = {"start": date(2026, 11, 1), "end": date(2026, 11, 30), "community_id": None, "service_type": None,
              "now": NOW}
    values.update(kw)
    return service_stats(session=w["s"], user=user or w["everywhere"], **values)


def test_the_town_figures_and_percentiles(world):
    w = world
    stats = _stats(w, community_id=w["town"].id)
    town = stats.overall
    assert (town.requests, town.completed, town.cancelled, town.escalated) == (5, 3, 1, 2)
    assert town.fulfilment_rate == 0.75
    assert town.accept_minutes.model_dump() == {"p50": 4.0, "p90": 8.8, "p95": 9.4}
    assert town.arrival_minutes.model_dump() == {"p50": 20.0, "p90": 28.0, "p95": 29.0}
    assert town.sos.count == 3
    assert town.sos.first_ack_seconds.model_dump() == {"p50": 60.0, "p90": 84.0}
    assert [c.community_id for c in stats.by_community] == [w["town"].id]


def test_scheduled_visits_are_timed_from_the_offer_and_by_lateness(world):
    w = world
    stats = _stats(w, service_type="cleaning")
    assert stats.overall.requests == 2
    assert stats.overall.accept_minutes.p50 == 20.0  # 30 (from the offer) and 10 (no offer: from booking)
    assert stats.overall.arrival_minutes.model_dump() == {"p50": 7.5, "p90": 13.5, "p95": 14.2}  # 15 and 0
    assert [t.service_type for t in stats.by_service_type] == ["cleaning"]
    assert stats.by_service_type[0].sos is None


def test_everything_per_community_and_type_and_the_rural_figures(world):
    w = world
    stats = _stats(w)
    assert stats.overall.requests == 7 and stats.overall.completed == 5
    assert {c.community_id: c.requests for c in stats.by_community} == {w["town"].id: 5, w["village"].id: 2}
    assert {t.service_type.value: t.requests for t in stats.by_service_type} == {"meal": 5, "cleaning": 2}
    assert stats.rural.model_dump() == {"communities": 2, "communities_covered": 1, "seniors": 2,
                                        "seniors_covered": 1}
    village = _stats(w, community_id=w["village"].id).rural.model_dump()
    assert village == {"communities": 1, "communities_covered": 1, "seniors": 2, "seniors_covered": 1}


def test_empty_periods_have_null_percentiles_and_staff_are_scoped(world):
    w = world
    empty = _stats(w, start=date(2026, 9, 1), end=date(2026, 9, 30), community_id=w["town"].id)
    assert empty.overall.requests == 0 and empty.overall.fulfilment_rate is None
    assert empty.overall.accept_minutes.p50 is None and empty.overall.sos.first_ack_seconds.p90 is None
    mine = _stats(w, user=w["staff"])
    assert [c.community_id for c in mine.by_community] == [w["town"].id]
    assert mine.rural.communities == 0
    with pytest.raises(NotFound):
        _stats(w, user=w["staff"], community_id=w["village"].id)
    with pytest.raises(Forbidden):
        _stats(w, user=f.user(w["s"], Role.FAMILY))


def test_the_default_period_is_the_last_30_local_days():
    assert period(None, None, NOW) == (date(2026, 11, 2), date(2026, 12, 1))
    assert period(date(2026, 1, 1), None, NOW) == (date(2026, 1, 1), date(2026, 1, 30))
    assert period(None, date(2026, 3, 1), NOW) == (date(2026, 1, 31), date(2026, 3, 1))


def test_the_csv_tables_hold_overall_communities_types_and_rural(world):
    tables = stats_tables(_stats(world))
    rows = tables["统计 Statistics"]
    scopes = [r[0] for r in rows[3:]]
    assert scopes == ["overall", "community", "community", "service_type", "service_type"]
    assert rows[3][4:9] == [7, 5, 1, 2, 0.8333]
    assert tables["农村 Rural"][1][1] == 1
