"""Deterministic Chenzhou demo data: seniors, family, organizations, providers, staff.

Every senior a demo login can book for (seniors 1-50 sign in themselves, family 1-100 book for
seniors 1-100) is covered for every service type by the duty roster: pairs of verified, on-duty
providers numbered first, placed at the communities of those seniors. The rest of the synthetic
city keeps its gaps, which the coverage console is for. Standing of the other providers follows
their number, so the README can say exactly who is verified and on duty.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, func, select

from dispatch.assessment import BARTHEL_ITEMS, score_assessment
from dispatch.catalog import CommunityKind, ProviderStatus, Role, ServiceType
from dispatch.geo import great_circle_km
from models.accounts import StaffCommunity, User
from models.places import Community, District
from models.providers import Organization, Provider
from models.seniors import Assessment, FamilyLink, Senior
from models.types import utcnow
from server import security
from server.errors import Conflict
from server.services.demo_history import seed_history

DEMO_PASSWORD = "linli2018"
ADMIN_PHONE = "13800000000"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = "秀兰桂英玉珍淑芬建国志强国华德明春生冬梅翠花福来长林金凤海英荣华凤英德胜永福"
SENIOR_LOGINS = 50  # seniors 1-50 have their own login
FAMILY_LOGINS = 100  # family 1-100, each linked to the senior of the same number with booking rights
_S = ServiceType
# A roster station is two providers who together offer every service type (meals from both).
ROSTER_PAIR = ((_S.MEAL, _S.CLEANING, _S.BATHING), (_S.MEAL, _S.ESCORT, _S.MEDICAL))
ROSTER_RADIUS_KM = {CommunityKind.URBAN: 5.0, CommunityKind.RURAL: 12.0}


@dataclass(frozen=True)
class DemoCounts:
    seniors: int
    providers: int
    organizations: int
    staff: int
    past_visits: int = 0


def seed_demo(*, session: Session, seniors: int = 2000, providers: int = 300, seed: int = 2018,
              now: datetime | None = None) -> DemoCounts:
    """Fill an empty database with demo data and the month before now (server.services.demo_history);
    the same seed always gives the same data. `providers` counts the duty roster too, which is made
    whole even when it alone is more."""
    if session.exec(select(func.count()).select_from(Senior)).one():
        raise Conflict("数据库已有老人数据 / The database already has seniors", code="not_empty")
    rng = random.Random(seed)
    communities = session.exec(select(Community).order_by(Community.id)).all()
    districts = {d.name_zh: d for d in session.exec(select(District)).all()}
    password_hash = security.hash_password(DEMO_PASSWORD)  # one hash: every demo login shares the password
    admin = _user(session, ADMIN_PHONE, "平台管理员", Role.ADMIN, password_hash)
    staff = _staff(session, communities, districts, password_hash)
    weights = [_weight(c, communities, districts) for c in communities]
    bookable = _seniors(session, rng, communities, weights, seniors, password_hash, assessor_id=admin.id)
    orgs = _organizations(session, rng, districts, communities, password_hash)
    by_id = {c.id: c for c in communities}
    stations = _roster_stations(rng, bookable, by_id)
    made = _roster(session, rng, stations, orgs, password_hash)
    made += _providers(session, rng, communities, weights, orgs, max(0, providers - made), password_hash,
                       first_number=made + 1)
    session.flush()
    visits = seed_history(session=session, seed=seed, now=now or utcnow())
    session.commit()
    return DemoCounts(seniors=seniors, providers=made, organizations=len(orgs), staff=staff, past_visits=visits)


def _user(session: Session, phone: str, name: str, role: Role, password_hash: str) -> User:
    user = User(phone=phone, name=name, role=role, password_hash=password_hash)
    session.add(user)
    session.flush()
    return user


def _staff(session: Session, communities, districts, password_hash: str) -> int:
    """One center_staff per district, answering for its communities."""
    for number, district in enumerate(sorted(districts), start=1):
        user = _user(session, f"138000010{number:02d}", f"{district}社区中心", Role.CENTER_STAFF, password_hash)
        for community in communities:
            if community.district == district:
                session.add(StaffCommunity(user_id=user.id, community_id=community.id))
    return len(districts)


def _weight(community: Community, communities, districts) -> float:
    """Seniors per community: district population split 65/35 between towns and countryside."""
    siblings = [c for c in communities if c.district == community.district and c.kind == community.kind]
    district = districts.get(community.district)
    population = district.population_approx if district else 100_000
    share = 0.65 if community.kind == CommunityKind.URBAN else 0.35
    return population * share / max(1, len(siblings))


def _near(rng: random.Random, lat: float, lon: float, sigma_km: float) -> tuple[float, float]:
    d_lat = rng.gauss(0, sigma_km) / 111.2
    d_lon = rng.gauss(0, sigma_km) / (111.2 * math.cos(math.radians(lat)))
    return round(lat + d_lat, 6), round(lon + d_lon, 6)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2))


def _seniors(session: Session, rng: random.Random, communities, weights, count: int, password_hash: str, *,
             assessor_id: int) -> list[Senior]:
    """Make count seniors; returns those a demo login can book for (1-100)."""
    bookable = []
    for number in range(1, count + 1):
        community = rng.choices(communities, weights)[0]
        rural = community.kind == CommunityKind.RURAL
        lat, lon = _near(rng, community.lat, community.lon, 2.5 if rural else 0.6)
        own = _user(session, f"139{number:08d}", _name(rng), Role.SENIOR, password_hash) \
            if number <= SENIOR_LOGINS else None
        place = f"{rng.randint(1, 12)}组" if rural else f"{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元"
        senior = Senior(name=own.name if own else _name(rng), user_id=own.id if own else None,
                        address=f"郴州市{community.district}{community.name}{place}", lat=lat, lon=lon,
                        birth_year=rng.randint(1928, 1962), gender=rng.choice(["male", "female"]),
                        community_id=community.id, living_alone=rng.random() < (0.32 if rural else 0.18),
                        phone=own.phone if own else None,
                        emergency_contacts=[{"name": _name(rng), "phone": f"137{number:08d}", "relation": "子女"}])
        session.add(senior)
        session.flush()
        _assess(session, rng, senior, assessor_id)
        if number <= FAMILY_LOGINS:
            bookable.append(senior)
            family = _user(session, f"137{number:08d}", _name(rng), Role.FAMILY, password_hash)
            session.add(FamilyLink(senior_id=senior.id, user_id=family.id, relation="子女", can_book=True,
                                   consent_basis="senior_self" if own else "staff_witnessed",
                                   consented_by=own.id if own else family.id))
    return bookable


def _assess(session: Session, rng: random.Random, senior: Senior, assessor_id: int) -> None:
    """About 60% of seniors have an assessment; independence is commonest, severe need rarest."""
    if rng.random() > 0.6:
        return
    able = rng.choices([1.0, 0.85, 0.55, 0.25], [45, 30, 15, 10])[0]
    items = {name: (max(allowed) if rng.random() < able else rng.choice(allowed[:-1]))
             for name, allowed in BARTHEL_ITEMS.items()}
    score, level = score_assessment(items)
    senior.care_level = level
    session.add_all([senior, Assessment(senior_id=senior.id, assessor_id=assessor_id, items=items, score=score,
                                        care_level=level)])


def _organizations(session: Session, rng: random.Random, districts, communities, password_hash: str) -> list[Organization]:
    orgs = []
    for number, district in enumerate(sorted(districts), start=1):
        seat = districts[district]
        for k in (1, 2):
            admin = _user(session, f"135{number:06d}{k:02d}", _name(rng), Role.ORG_ADMIN, password_hash)
            lat, lon = _near(rng, seat.seat_lat, seat.seat_lon, 1.0)
            community = min(communities, key=lambda c: (c.lat - lat) ** 2 + (c.lon - lon) ** 2)
            org = Organization(name=f"{district}{'康乐' if k == 1 else '颐养'}居家养老服务中心", kind="company" if k == 1 else "nonprofit",
                               license_no=f"CZ{seat.code}{k:03d}", address=f"郴州市{district}{community.name}",
                               lat=lat, lon=lon, community_id=community.id, admin_user_id=admin.id,
                               status=ProviderStatus.VERIFIED)
            session.add(org)
            session.flush()
            orgs.append(org)
    return orgs


@dataclass(frozen=True)
class _Station:
    community: Community
    lat: float
    lon: float
    radius_km: float


def _roster_stations(rng: random.Random, seniors: list[Senior], communities: dict[int, Community]) -> list[_Station]:
    """Greedy cover of the bookable seniors: a senior no station reaches gets one at their community."""
    stations: list[_Station] = []
    for senior in seniors:
        if any(great_circle_km(senior.lat, senior.lon, s.lat, s.lon) <= s.radius_km for s in stations):
            continue
        community = communities[senior.community_id]
        lat, lon = _near(rng, community.lat, community.lon, 0.3)
        # Wide enough for this senior whatever the jitter, with a kilometre to spare.
        radius = max(ROSTER_RADIUS_KM[community.kind], math.ceil(great_circle_km(senior.lat, senior.lon, lat, lon) + 1))
        stations.append(_Station(community, lat, lon, float(radius)))
    return stations


def _roster(session: Session, rng: random.Random, stations: list[_Station], orgs, password_hash: str) -> int:
    """The duty roster (providers 1, 2, …): two verified, on-duty providers at each station."""
    number = 0
    for station in stations:
        district_orgs = [o for o in orgs if o.address.startswith(f"郴州市{station.community.district}")] or orgs
        for services in ROSTER_PAIR:
            number += 1
            user = _user(session, f"136{number:08d}", _name(rng), Role.PROVIDER, password_hash)
            certs = ["养老护理员"] + (["护士执业证"] if _S.MEDICAL in services else [])
            session.add(Provider(user_id=user.id, organization_id=rng.choice(district_orgs).id, name=user.name,
                                 services=[s.value for s in services], certifications=certs, base_lat=station.lat,
                                 base_lon=station.lon, service_radius_km=station.radius_km,
                                 community_id=station.community.id, status=ProviderStatus.VERIFIED,
                                 credit_score=rng.randint(85, 100), rating_sum=0, rating_count=0, on_duty=True,
                                 duty_lat=round(station.lat, 3), duty_lon=round(station.lon, 3)))
    return number


def standing_of(number: int) -> tuple[ProviderStatus, bool]:
    """A provider's demo standing after the roster, by their number: every 10th is pending
    verification, …25 and …75 suspended, …45 and …95 blacklisted, the rest verified; verified
    providers with an odd number are on duty."""
    if number % 10 == 0:
        return ProviderStatus.PENDING, False
    if number % 50 == 25:
        return ProviderStatus.SUSPENDED, False
    if number % 50 == 45:
        return ProviderStatus.BLACKLISTED, False
    return ProviderStatus.VERIFIED, number % 2 == 1


def _providers(session: Session, rng: random.Random, communities, weights, orgs, count: int, password_hash: str, *,
               first_number: int) -> int:
    """The rest of the city's providers, placed like the seniors (with its gaps)."""
    services = list(ServiceType)
    for number in range(first_number, first_number + count):
        community = rng.choices(communities, weights)[0]
        rural = community.kind == CommunityKind.RURAL
        lat, lon = _near(rng, community.lat, community.lon, 2.0 if rural else 0.8)
        user = _user(session, f"136{number:08d}", _name(rng), Role.PROVIDER, password_hash)
        status, on_duty = standing_of(number)
        district_orgs = [o for o in orgs if o.address.startswith(f"郴州市{community.district}")] or orgs
        chosen = sorted(rng.sample(services, rng.randint(1, 3)), key=services.index)
        certs = ["养老护理员"] + (["护士执业证"] if ServiceType.MEDICAL in chosen and rng.random() < 0.6 else [])
        session.add(Provider(user_id=user.id, organization_id=rng.choice(district_orgs).id, name=user.name,
                             services=[s.value for s in chosen], certifications=certs, base_lat=lat, base_lon=lon,
                             service_radius_km=round(rng.uniform(8, 15) if rural else rng.uniform(3, 6), 1),
                             community_id=community.id, status=status,
                             status_reason=None if status == ProviderStatus.VERIFIED else "演示数据 / demo",
                             credit_score=rng.randint(70, 100), rating_sum=0, rating_count=0, on_duty=on_duty,
                             duty_lat=round(lat, 3) if on_duty else None, duty_lon=round(lon, 3) if on_duty else None))
    return count
