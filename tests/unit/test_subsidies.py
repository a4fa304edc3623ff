"""Subsidy rules: rates, the payable rule with its reasons, the month's bounds, the statement's grouping."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from dispatch.subsidies import (
    DEFAULT_FACTORS,
    RateTable,
    Reason,
    Visit,
    flag_reason,
    month_bounds,
    parse_rates,
    statement,
)
from tests.factories import offset

HOME = (25.79, 113.01)


def visit(rid: int = 1, *, checkin_m: float | None = 0.0, checkout_m: float | None = 0.0, **fields) -> Visit:
    """A visit at HOME with check-in / check-out that many metres north of it (None: not done)."""
    cin = offset(*HOME, north_km=checkin_m / 1000) if checkin_m is not None else (None, None)
    cout = offset(*HOME, north_km=checkout_m / 1000) if checkout_m is not None else (None, None)
    values = {"request_id": rid, "service_type": "meal", "care_level": "severe", "home_lat": HOME[0],
              "home_lon": HOME[1], "provider_id": 7, "provider": "李阿姨", "checked_in": checkin_m is not None,
              "checkin_lat": cin[0], "checkin_lon": cin[1], "checked_out": checkout_m is not None,
              "checkout_lat": cout[0], "checkout_lon": cout[1]}
    values.update(fields)
    return Visit(**values)


def test_the_default_rates_say_they_are_illustrative_and_favour_disabled_seniors():
    rates = RateTable()
    assert rates.public()["illustrative"] is True and rates.public()["currency"] == "CNY"
    factors = [DEFAULT_FACTORS[level] for level in ("severe", "moderate", "mild", "independent")]
    assert factors == sorted(factors, reverse=True) and factors[0] > factors[-1]
    assert rates.amount("meal", "severe") == Decimal("22.50")
    assert rates.amount("meal", None) == rates.amount("meal", "unassessed") == Decimal("12.00")


def test_amounts_round_half_up_to_the_fen():
    rates = parse_rates({"base": {"meal": 10.05}, "care_level_factor": {"mild": 0.5}})
    assert rates.amount("meal", "mild") == Decimal("5.03")  # 5.025 → 5.03, not banker's 5.02


@pytest.mark.parametrize("data, says", [
    ([], "JSON object"), ({"bonus": 1}, "unknown keys"), ({"base": {"massage": 10}}, "unknown keys"),
    ({"base": {"meal": "ten"}}, "base.meal"), ({"base": {"meal": -1}}, "between"),
    ({"care_level_factor": {"severe": True}}, "care_level_factor.severe"), ({"illustrative": "no"}, "illustrative"),
    ({"base": {"meal": float("nan")}}, "between"), ({"currency": "USD"}, "CNY"),
])
def test_a_bad_rate_file_is_refused_saying_what_is_wrong(data, says):
    with pytest.raises((ValueError, TypeError), match=says):
        parse_rates(data)


def test_a_rate_file_overrides_only_what_it_names():
    rates = parse_rates({"base": {"bathing": 80}, "illustrative": False})
    assert rates.amount("bathing", "mild") == Decimal("80.00")
    assert rates.amount("meal", "mild") == Decimal("15.00")
    assert rates.public()["illustrative"] is False


@pytest.mark.parametrize("fields, reason", [
    ({}, None),
    ({"checkin_m": 290, "checkout_m": 290}, None),
    ({"checkin_m": None}, Reason.NO_CHECKIN),
    ({"checkout_m": None}, Reason.NO_CHECKOUT),
    ({"checkin_m": None, "checkout_m": None}, Reason.NO_CHECKIN),
    ({"checkin_m": 310}, Reason.CHECKIN_FAR),
    ({"checkout_m": 2000}, Reason.CHECKOUT_FAR),
    ({"checkin_m": 400, "checkout_m": 2000}, Reason.CHECKIN_FAR),
    ({"provider_id": None}, Reason.NO_PROVIDER),
])
def test_a_visit_is_payable_only_with_both_points_within_300_m(fields, reason):
    assert flag_reason(visit(**fields)) == reason


def test_a_check_in_time_without_a_position_is_no_check_in():
    assert flag_reason(visit(checkin_lat=None)) == Reason.NO_CHECKIN


def test_month_bounds_are_local_midnights():
    lo, hi = month_bounds(2026, 12, ZoneInfo("Asia/Shanghai"))
    assert lo == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert hi == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)


def test_the_statement_groups_payable_visits_and_lists_the_rest_apart():
    visits = [visit(1), visit(2), visit(3, care_level="mild"), visit(4, service_type="cleaning"),
              visit(5, checkout_m=2000), visit(6, provider_id=8, provider="王师傅", organization_id=3,
                                                organization="康乐")]
    built = statement(visits, RateTable())
    keys = [(r["organization_id"], r["provider_id"], r["service_type"], r["care_level"], r["visits"], r["amount"])
            for r in built["rows"]]
    assert keys == [(3, 8, "meal", "severe", 1, 22.5), (None, 7, "meal", "severe", 2, 45.0),
                    (None, 7, "meal", "mild", 1, 15.0), (None, 7, "cleaning", "severe", 1, 60.0)]
    assert built["totals"] == {"visits": 5, "amount": 142.5}
    assert built["flagged"] == [{"request_id": 5, "provider_id": 7, "provider": "李阿姨", "service_type": "meal",
                                 "reason": "checkout_far"}]


def test_the_quick_screen_agrees_with_the_geodesic_near_and_far_from_the_edge():
    import math
    import random

    from dispatch.subsidies import is_far
    from dispatch.visits import checkin_distance_flag

    rnd = random.Random(11)
    for _ in range(400):
        metres, bearing = rnd.uniform(200, 400), rnd.uniform(0, 2 * math.pi)
        lat0 = rnd.uniform(18, 53)  # mainland China's latitudes
        lat, lon = offset(lat0, 113.0, north_km=metres * math.cos(bearing) / 1000,
                          east_km=metres * math.sin(bearing) / 1000)
        assert is_far(lat0, 113.0, lat, lon) == checkin_distance_flag(lat0, 113.0, lat, lon, threshold_m=300)[1]
