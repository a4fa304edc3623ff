"""Subsidy statements: the rate table, which completed visits are payable, and the month's statement.

A visit is payable when it was completed in the month (local month boundaries), has a check-in and
a check-out, and both points lie within SUBSIDY_RADIUS_M of the senior's home (measured as
dispatch.visits measures check-ins). Every other visit of the month is listed apart with the first
reason it fails, and paid nothing. The amount of a payable visit is the service type's base amount
times the senior's care-level factor, in CNY, rounded to the fen (half up).

The default rates are ILLUSTRATIVE: they are not any government's tariff. A deployment sets its
own with LINLI_SUBSIDY_RATES (a JSON file, see parse_rates and docs/subsidies.md).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from types import MappingProxyType

from dispatch.catalog import ServiceType
from dispatch.geo import great_circle_km
from dispatch.recurrence import local_midnight
from dispatch.visits import checkin_distance_flag

SUBSIDY_RADIUS_M = 300.0
SPHERE_MARGIN = 0.01
UNASSESSED = "unassessed"
# Severe first: the order rows are listed in, and the keys of the factor table.
CARE_LEVELS: tuple[str, ...] = ("severe", "moderate", "mild", "independent", UNASSESSED)
FEN = Decimal("0.01")

# Illustrative only: round figures of the order of Hunan's home-care service vouchers, not a tariff.
DEFAULT_BASE: Mapping[str, Decimal] = MappingProxyType({
    ServiceType.MEAL.value: Decimal(15), ServiceType.CLEANING.value: Decimal(40),
    ServiceType.ESCORT.value: Decimal(40), ServiceType.BATHING.value: Decimal(60),
    ServiceType.MEDICAL.value: Decimal(50),
})
# Tilted toward disabled seniors (severe and moderate Barthel results), as the policy asks.
DEFAULT_FACTORS: Mapping[str, Decimal] = MappingProxyType({
    "severe": Decimal("1.5"), "moderate": Decimal("1.3"), "mild": Decimal("1.0"),
    "independent": Decimal("0.8"), UNASSESSED: Decimal("0.8"),
})


class Reason:
    """Why a completed visit is not payable (the first that applies, in this order)."""

    NO_CHECKIN = "no_checkin"
    NO_CHECKOUT = "no_checkout"
    CHECKIN_FAR = "checkin_far"
    CHECKOUT_FAR = "checkout_far"
    NO_PROVIDER = "no_provider"


@dataclass(frozen=True)
class RateTable:
    base: Mapping[str, Decimal] = field(default_factory=lambda: DEFAULT_BASE)
    care_level_factor: Mapping[str, Decimal] = field(default_factory=lambda: DEFAULT_FACTORS)
    illustrative: bool = True
    currency: str = "CNY"

    def amount(self, service_type: str, care_level: str | None) -> Decimal:
        """The subsidy for one payable visit, rounded to the fen."""
        factor = self.care_level_factor[care_level or UNASSESSED]
        return (self.base[str(service_type)] * factor).quantize(FEN, rounding=ROUND_HALF_UP)

    def public(self) -> dict:
        return {"illustrative": self.illustrative, "currency": self.currency,
                "base": {k: float(v) for k, v in self.base.items()},
                "care_level_factor": {k: float(v) for k, v in self.care_level_factor.items()}}


def _amounts(raw: object, keys: Iterable[str], what: str) -> dict[str, Decimal]:
    if not isinstance(raw, dict):
        raise TypeError(f"{what} must be an object of numbers")
    unknown = set(raw) - set(keys)
    if unknown:
        raise ValueError(f"{what}: unknown keys {sorted(unknown)} (allowed: {sorted(keys)})")
    values = {}
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise TypeError(f"{what}.{key} must be a number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"{what}.{key} must be a number") from None
        if not number.is_finite() or number < 0 or number > 100000:
            raise ValueError(f"{what}.{key} must be between 0 and 100000")
        values[key] = number
    return values


def parse_rates(data: object) -> RateTable:
    """A rate table from a JSON document: {"base": {service type: CNY}, "care_level_factor": {level:
    factor}, "illustrative": bool}; keys left out keep their defaults. Raises ValueError saying what
    is wrong (ValueError, or TypeError for a value of the wrong kind)."""
    if not isinstance(data, dict):
        raise TypeError("the rate file must hold a JSON object")
    unknown = set(data) - {"base", "care_level_factor", "illustrative", "currency"}
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}")
    base = {**DEFAULT_BASE, **_amounts(data.get("base", {}), DEFAULT_BASE, "base")}
    factors = {**DEFAULT_FACTORS, **_amounts(data.get("care_level_factor", {}), DEFAULT_FACTORS,
                                             "care_level_factor")}
    illustrative = data.get("illustrative", True)
    if not isinstance(illustrative, bool):
        raise TypeError("illustrative must be true or false")
    if data.get("currency", "CNY") != "CNY":
        raise ValueError("currency must be CNY")
    return RateTable(base=MappingProxyType(base), care_level_factor=MappingProxyType(factors),
                     illustrative=illustrative)


def month_bounds(year: int, month: int, zone: tzinfo) -> tuple[datetime, datetime]:
    """[first local midnight of the month, first of the next) in UTC."""
    following = date(year + (month == 12), month % 12 + 1, 1)
    return local_midnight(date(year, month, 1), zone), local_midnight(following, zone)


@dataclass(frozen=True)
class Visit:
    """What a statement needs to know of one visit completed in the month."""

    request_id: int
    service_type: str
    care_level: str | None
    home_lat: float
    home_lon: float
    provider_id: int | None
    provider: str | None = None
    organization_id: int | None = None
    organization: str | None = None
    checkin_lat: float | None = None
    checkin_lon: float | None = None
    checkout_lat: float | None = None
    checkout_lon: float | None = None
    checked_in: bool = False
    checked_out: bool = False


def is_far(home_lat: float, home_lon: float, lat: float, lon: float, radius_m: float = SUBSIDY_RADIUS_M) -> bool:
    """Whether (lat, lon) is farther than radius_m from home, as a check-in is measured (geodesic).
    The geodesic costs ~0.1-0.5 ms, so the sphere's distance decides first when it is more than
    SPHERE_MARGIN off the radius (sphere and ellipsoid differ by under 0.6 %); only points near the
    edge are measured on the ellipsoid."""
    approx_m = great_circle_km(home_lat, home_lon, lat, lon) * 1000.0
    if abs(approx_m - radius_m) > radius_m * SPHERE_MARGIN:
        return approx_m > radius_m
    return checkin_distance_flag(home_lat, home_lon, lat, lon, threshold_m=radius_m)[1]


def _far(visit: Visit, lat: float, lon: float, radius_m: float) -> bool:
    return is_far(visit.home_lat, visit.home_lon, lat, lon, radius_m)


def flag_reason(visit: Visit, radius_m: float = SUBSIDY_RADIUS_M) -> str | None:
    """None when the visit is payable, else the first reason it is not."""
    if visit.provider_id is None:
        return Reason.NO_PROVIDER
    if not visit.checked_in or visit.checkin_lat is None or visit.checkin_lon is None:
        return Reason.NO_CHECKIN
    if not visit.checked_out or visit.checkout_lat is None or visit.checkout_lon is None:
        return Reason.NO_CHECKOUT
    if _far(visit, visit.checkin_lat, visit.checkin_lon, radius_m):
        return Reason.CHECKIN_FAR
    if _far(visit, visit.checkout_lat, visit.checkout_lon, radius_m):
        return Reason.CHECKOUT_FAR
    return None


def _row_key(visit: Visit) -> tuple:
    level = visit.care_level or UNASSESSED
    return (visit.organization_id is None, visit.organization or "", visit.organization_id or 0, visit.provider or "",
            visit.provider_id, list(ServiceType).index(ServiceType(visit.service_type)), CARE_LEVELS.index(level))


def statement(visits: Iterable[Visit], rates: RateTable, radius_m: float = SUBSIDY_RADIUS_M) -> dict:
    """{rows, totals, flagged}: payable visits grouped by organization (providers in none last), provider,
    service type and care level (severe first), amounts as numbers in CNY; the others listed apart with
    their reason, by request id."""
    groups: dict[tuple, dict] = {}
    flagged = []
    for visit in sorted(visits, key=lambda v: v.request_id):
        reason = flag_reason(visit, radius_m)
        if reason is not None:
            flagged.append({"request_id": visit.request_id, "provider_id": visit.provider_id,
                            "provider": visit.provider, "service_type": visit.service_type, "reason": reason})
            continue
        row = groups.setdefault(_row_key(visit), {
            "organization_id": visit.organization_id, "organization": visit.organization,
            "provider_id": visit.provider_id, "provider": visit.provider, "service_type": visit.service_type,
            "care_level": visit.care_level or UNASSESSED, "visits": 0, "amount": Decimal(0)})
        row["visits"] += 1
        row["amount"] += rates.amount(visit.service_type, visit.care_level)
    rows = [groups[key] for key in sorted(groups)]
    total = sum((row["amount"] for row in rows), Decimal(0))
    for row in rows:
        row["amount"] = float(row["amount"])
    return {"rows": rows, "totals": {"visits": sum(r["visits"] for r in rows), "amount": float(total)},
            "flagged": flagged}

