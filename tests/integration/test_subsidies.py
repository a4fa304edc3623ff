"""A worked subsidy statement for November 2026: known check-in/out points, exact amounts, a flagged visit."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dispatch.catalog import CareLevel, Role
from dispatch.lifecycle import RequestStatus
from dispatch.subsidies import RateTable, parse_rates
from models.requests import ServiceRequest
from server.errors import Forbidden, NotFound
from server.services.subsidies import statement_tables, subsidy_statement
from tests import factories as f

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def world(db_session):
    s = db_session
    home, away = f.community(s), f.community(s)
    org = f.organization(s, f.user(s, Role.ORG_ADMIN), home)
    li = f.provider(s, home, organization=org, owner=f.user(s, Role.PROVIDER, name="李阿姨"))
    wang = f.provider(s, home, owner=f.user(s, Role.PROVIDER, name="王师傅"))
    severe = f.senior(s, home, care_level=CareLevel.SEVERE)
    mild = f.senior(s, home, care_level=CareLevel.MILD)
    unassessed = f.senior(s, home)
    elsewhere = f.senior(s, away, care_level=CareLevel.SEVERE)
    booker = f.user(s, Role.SENIOR)
    ids = {}

    def done(name, senior, provider, service="meal", *, local, checkin_m=50.0, checkout_m=120.0):
        when = local.replace(tzinfo=SH).astimezone(UTC)
        row = ServiceRequest(senior_id=senior.id, community_id=senior.community_id, service_type=service,
                             status=RequestStatus.COMPLETED, scheduled_start=when - timedelta(hours=1),
                             scheduled_end=when, provider_id=provider.id, created_by=booker.id,
                             assigned_at=when - timedelta(hours=2), completed_at=when)
        if checkin_m is not None:
            row.checkin_at = when - timedelta(hours=1)
            row.checkin_lat, row.checkin_lon = f.offset(senior.lat, senior.lon, north_km=checkin_m / 1000)
        if checkout_m is not None:
            row.checkout_at = when
            row.checkout_lat, row.checkout_lon = f.offset(senior.lat, senior.lon, east_km=checkout_m / 1000)
        s.add(row)
        s.flush()
        ids[name] = row.id

    nov = datetime(2026, 11, 10, 10, 0)
    done("a", severe, li, local=nov)                                           # meal × 1.5 = 22.50
    done("b", severe, li, local=nov + timedelta(days=1))                       # 22.50
    done("c", mild, li, "cleaning", local=nov)                                 # 40 × 1.0 = 40.00
    done("d", unassessed, wang, "bathing", local=nov)                          # 60 × 0.8 = 48.00
    done("first", mild, wang, local=datetime(2026, 11, 1, 0, 30))            # 15.00 (Oct 31 16:30 UTC)
    done("far", mild, wang, local=nov, checkout_m=2000)                        # flagged: check-out 2 km away
    done("no_in", severe, li, local=nov, checkin_m=None)                       # flagged: no check-in
    done("oct", severe, li, local=datetime(2026, 10, 31, 23, 30))             # October
    done("dec", severe, li, local=datetime(2026, 12, 1, 0, 30))               # December (Nov 30 UTC)
    done("away", elsewhere, li, local=nov)                                     # another community
    s.commit()
    staff = f.staff(s, home)
    s.commit()
    return {"s": s, "home": home, "away": away, "org": org, "li": li, "wang": wang, "ids": ids, "staff": staff}


def test_the_worked_example_pays_exactly_and_flags_the_far_check_out(world):
    w = world
    st = subsidy_statement(session=w["s"], user=w["staff"], month="2026-11", community_id=None, rates=RateTable())
    rows = [(r.organization_id, r.provider_id, r.service_type.value, r.care_level, r.visits, r.amount)
            for r in st.rows]
    assert rows == [(w["org"].id, w["li"].id, "meal", "severe", 2, 45.0),
                    (w["org"].id, w["li"].id, "cleaning", "mild", 1, 40.0),
                    (None, w["wang"].id, "meal", "mild", 1, 15.0),
                    (None, w["wang"].id, "bathing", "unassessed", 1, 48.0)]
    assert st.rows[0].organization == "康乐居家养老服务中心" and st.rows[0].provider == "李阿姨"
    assert (st.totals.visits, st.totals.amount) == (5, 148.0)
    flagged = {(x.request_id, x.provider_id, x.service_type.value, x.reason) for x in st.flagged}
    assert flagged == {(w["ids"]["far"], w["wang"].id, "meal", "checkout_far"),
                       (w["ids"]["no_in"], w["li"].id, "meal", "no_checkin")}
    assert st.rates.illustrative is True and st.rates.base["meal"] == 15.0


def test_configured_rates_change_the_amounts(world):
    w = world
    rates = parse_rates({"base": {"meal": 20}, "care_level_factor": {"severe": 2}, "illustrative": False})
    st = subsidy_statement(session=w["s"], user=w["staff"], month="2026-11", community_id=w["home"].id, rates=rates)
    assert st.rows[0].amount == 80.0 and st.totals.amount == 80.0 + 40.0 + 20.0 + 48.0
    assert st.rates.illustrative is False


def test_an_admin_sees_every_community_and_staff_only_theirs(world):
    w = world
    admin = f.staff(w["s"], role=Role.ADMIN)
    home = subsidy_statement(session=w["s"], user=admin, month="2026-11", community_id=w["home"].id,
                             rates=RateTable())
    assert home.totals.visits == 5  # (not everywhere: on PostgreSQL other tests' committed rows are there too)
    away = subsidy_statement(session=w["s"], user=admin, month="2026-11", community_id=w["away"].id,
                             rates=RateTable())
    assert away.totals == type(away.totals)(visits=1, amount=22.5)
    with pytest.raises(NotFound):
        subsidy_statement(session=w["s"], user=w["staff"], month="2026-11", community_id=w["away"].id,
                          rates=RateTable())
    with pytest.raises(Forbidden):
        subsidy_statement(session=w["s"], user=w["s"].get(f.User, w["li"].user_id), month="2026-11",
                          community_id=None, rates=RateTable())


def test_october_and_december_hold_the_visits_across_the_local_midnights(world):
    w = world
    october = subsidy_statement(session=w["s"], user=w["staff"], month="2026-10", community_id=None, rates=RateTable())
    december = subsidy_statement(session=w["s"], user=w["staff"], month="2026-12", community_id=None,
                                 rates=RateTable())
    assert (october.totals.visits, december.totals.visits) == (1, 1)
    assert october.totals.amount == december.totals.amount == 22.5


def test_the_tables_carry_every_row_the_total_and_the_flagged(world):
    w = world
    st = subsidy_statement(session=w["s"], user=w["staff"], month="2026-11", community_id=None, rates=RateTable())
    tables = statement_tables(st)
    assert list(tables) == ["汇总 Statement", "异常 Flagged"]
    body = tables["汇总 Statement"]
    assert body[0][:2] == ["月份 Month", "2026-11"] and "illustrative" in body[0][4]
    assert body[-1][0] == "合计 Total" and body[-1][-2:] == [5, 148.0]
    assert len(tables["异常 Flagged"]) == 1 + 2
