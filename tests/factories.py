"""Plain factory functions for tests: each adds one object and flushes (the caller commits)."""
from __future__ import annotations

import itertools

from sqlmodel import Session, select

from dispatch.catalog import CommunityKind, ProviderStatus, Role
from models.accounts import StaffCommunity, User
from models.places import Community
from models.providers import Organization, Provider
from models.seniors import FamilyLink, Senior
from server import security

PASSWORD = "correct-horse-1"
_HASH = security.hash_password(PASSWORD)
_phones = itertools.count(1)


def next_phone() -> str:
    """A fresh valid mainland mobile number."""
    return f"131{next(_phones):08d}"


def community(session: Session, name: str | None = None, district: str = "北湖区", lat: float = 25.79,
              lon: float = 113.01, kind: CommunityKind = CommunityKind.URBAN) -> Community:
    """A community (the reference ones are present too after migration)."""
    row = Community(name=name or f"测试社区{next(_phones)}", district=district, kind=kind, lat=lat, lon=lon)
    session.add(row)
    session.flush()
    return row


def first_community(session: Session) -> Community:
    """The first reference community (北湖区 …)."""
    return session.exec(select(Community).order_by(Community.id)).first()


def user(session: Session, role: Role, *, phone: str | None = None, name: str | None = None,
         communities: tuple[Community, ...] = ()) -> User:
    """A user of role with the shared test PASSWORD; staff answer for communities."""
    row = User(phone=phone or next_phone(), name=name or f"{role}-user", role=role, password_hash=_HASH)
    session.add(row)
    session.flush()
    for c in communities:
        session.add(StaffCommunity(user_id=row.id, community_id=c.id))
    session.flush()
    return row


def senior(session: Session, community: Community, *, owner: User | None = None, lat: float | None = None,
           lon: float | None = None, name: str = "王秀兰", **fields) -> Senior:
    """A senior living at the community centre unless lat/lon say otherwise."""
    row = Senior(name=name, address=f"郴州市{community.district}{community.name}1栋", lat=lat or community.lat,
                 lon=lon or community.lon, birth_year=1945, community_id=community.id,
                 user_id=owner.id if owner else None, **fields)
    session.add(row)
    session.flush()
    return row


def family_link(session: Session, senior_row: Senior, family: User, *, can_book: bool = True) -> FamilyLink:
    """Link family to a senior with the senior's consent."""
    row = FamilyLink(senior_id=senior_row.id, user_id=family.id, relation="子女", can_book=can_book,
                     consent_basis="senior_self", consented_by=family.id)
    session.add(row)
    session.flush()
    return row


def organization(session: Session, admin: User, community: Community, *, license_no: str | None = None) -> Organization:
    row = Organization(name="康乐居家养老服务中心", kind="company", license_no=license_no or f"LIC{next(_phones)}",
                       address="郴州市北湖区", lat=community.lat, lon=community.lon, community_id=community.id,
                       admin_user_id=admin.id, status=ProviderStatus.VERIFIED)
    session.add(row)
    session.flush()
    return row


def provider(session: Session, community: Community, *, owner: User | None = None, services=("meal", "cleaning"),
             status: ProviderStatus = ProviderStatus.VERIFIED, lat: float | None = None, lon: float | None = None,
             radius_km: float = 5.0, organization: Organization | None = None, on_duty: bool = False,
             **fields) -> Provider:
    """A provider based at the community centre unless lat/lon say otherwise."""
    owner = owner or user(session, Role.PROVIDER)
    row = Provider(user_id=owner.id, name=owner.name, services=list(services), certifications=[],
                   base_lat=lat or community.lat, base_lon=lon or community.lon, service_radius_km=radius_km,
                   community_id=community.id, status=status, on_duty=on_duty,
                   organization_id=organization.id if organization else None, **fields)
    session.add(row)
    session.flush()
    return row


def login(client, phone: str, password: str = PASSWORD) -> dict:
    """Sign in through the API; returns bearer headers."""
    response = client.post("/api/v1/auth/login", json={"phone": phone, "password": password})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}
