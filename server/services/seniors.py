"""Senior profiles: creation on behalf of oneself, family or the center; reads; edits; family links."""
from __future__ import annotations

import re

from geopy.geocoders.base import Geocoder
from sqlalchemy import or_
from sqlmodel import Session, select

from dispatch.catalog import Role
from models.accounts import User
from models.seniors import (FamilyLink, FamilyLinkCreate, FamilyLinkPublic, Senior, SeniorCreate, SeniorPublic,
                            SeniorSummary, SeniorUpdate)
from server.errors import Conflict, Forbidden, field_error
from server.geocoding import locate
from server.steps import audit
from server.steps.access import SeniorAction, in_scope, senior_for, staff_communities
from server.steps.coverage import note_senior_change
from server.steps.places import nearest_community, require_community
from server.steps.scopes import seniors_in_view


def create_senior(*, session: Session, user: User, data: SeniorCreate, geocoder: Geocoder) -> SeniorPublic:
    """Create a senior's profile: their own, one a family member manages, or one the center keeps."""
    if user.role not in (Role.SENIOR, Role.FAMILY) and not user.role.is_staff:
        raise Forbidden("此角色不能建立老人档案 / This role cannot create senior profiles")
    if user.role == Role.SENIOR and session.exec(select(Senior.id).where(Senior.user_id == user.id)).first():
        raise Conflict("已有本人档案 / You already have a profile", code="profile_exists")
    lat, lon = _position(data.address, data.lat, data.lon, geocoder)
    community = (require_community(session, data.community_id) if data.community_id
                 else nearest_community(session, lat, lon))
    if user.role.is_staff and not in_scope(staff_communities(session, user), community.id):
        raise Forbidden("不在您负责的社区 / Not one of your communities", code="community_out_of_scope")
    senior = Senior(**data.model_dump(exclude={"lat", "lon", "community_id"}), lat=lat, lon=lon,
                    community_id=community.id, created_by=user.id,
                    user_id=user.id if user.role == Role.SENIOR else None)
    session.add(senior)
    note_senior_change(session, senior)  # coverage caches pick the new senior up
    session.flush()
    if user.role == Role.FAMILY:
        session.add(FamilyLink(senior_id=senior.id, user_id=user.id, relation="family", can_book=True,
                               consent_basis="family_created", consented_by=user.id))
    audit.record(session, user, "senior.create", "senior", senior.id)
    session.commit()
    return _public(senior)


def _position(address: str, lat: float | None, lon: float | None, geocoder: Geocoder) -> tuple[float, float]:
    if (lat is None) != (lon is None):
        raise field_error("lat" if lat is None else "lon", "lat 与 lon 须同时提供 / give both lat and lon")
    if lat is not None:
        return lat, lon
    point = locate(geocoder, address)
    if point is None:
        raise field_error("address", "找不到该地址，请补充区县、社区或乡镇名 / "
                          "Address not found; add the district, community or town", code="address_not_found")
    return point


def get_senior(*, session: Session, user: User, senior_id: int) -> SeniorPublic:
    """One senior's full profile; a staff read of the address is audited."""
    senior = senior_for(session=session, user=user, senior_id=senior_id, action=SeniorAction.READ)
    if user.role.is_staff:
        audit.record(session, user, "senior.read_address", "senior", senior.id)
        session.commit()
    return _public(senior)


def list_seniors(*, session: Session, user: User, community_id: int | None = None, q: str | None = None,
                 limit: int = 100, offset: int = 0) -> list[SeniorSummary]:
    """The seniors this user may see, as summaries without address or position; q (hotline search)
    keeps those whose name contains it or, when it is phone digits, whose phone or account's phone does."""
    query = select(Senior).where(seniors_in_view(session, user))
    if community_id is not None:
        query = query.where(Senior.community_id == community_id)
    if q is not None:
        query = query.where(_matching(q))
    rows = session.exec(query.order_by(Senior.id).offset(offset).limit(limit)).all()
    return [SeniorSummary.model_validate(s, from_attributes=True) for s in rows]


def _matching(q: str):
    """Name contains q; or, when q is phone digits (at least 2 once spaces, dashes and +86 are dropped),
    the senior's phone or their account's phone contains them."""
    q = q.strip()
    by_name = Senior.name.contains(q, autoescape=True)
    digits = re.sub(r"[\s\-()]", "", q).removeprefix("+86")
    if len(digits) < 2 or not digits.isdigit():
        return by_name
    accounts = select(User.id).where(User.phone.contains(digits, autoescape=True))
    return or_(by_name, Senior.phone.contains(digits, autoescape=True), Senior.user_id.in_(accounts))


_REQUIRED_FIELDS = ("name", "address", "birth_year", "living_alone", "emergency_contacts", "community_id")


def update_senior(*, session: Session, user: User, senior_id: int, data: SeniorUpdate,
                  geocoder: Geocoder) -> SeniorPublic:
    """Change a profile; a new address is geocoded unless a position comes with it."""
    senior = senior_for(session=session, user=user, senior_id=senior_id, action=SeniorAction.EDIT)
    changes = data.model_dump(exclude_unset=True)
    for name in _REQUIRED_FIELDS:
        if name in changes and changes[name] is None:  # before geocoding: a null address is no address
            raise field_error(name, "不能为空 / may not be null")
    if changes.get("community_id") is not None:
        if not user.role.is_staff:
            raise Forbidden("只有工作人员可调整社区 / Only staff may move a senior between communities")
        community = require_community(session, changes["community_id"])
        if not in_scope(staff_communities(session, user), community.id):
            raise Forbidden(code="community_out_of_scope")
    if "address" in changes or "lat" in changes or "lon" in changes:
        lat, lon = _position(changes.get("address", senior.address), changes.get("lat"), changes.get("lon"), geocoder)
        changes.update(lat=lat, lon=lon)
        community = None if "community_id" in changes else nearest_community(session, lat, lon)
        if community is not None and community.id != senior.community_id:  # the community follows a move
            if user.role.is_staff and not in_scope(staff_communities(session, user), community.id):
                raise Forbidden("不在您负责的社区 / Not one of your communities", code="community_out_of_scope")
            changes["community_id"] = community.id
    for name, value in changes.items():
        setattr(senior, name, value)
    note_senior_change(session, senior)  # stamps updated_at; coverage caches reload it
    audit.record(session, user, "senior.update", "senior", senior.id, fields=sorted(changes))
    session.commit()
    return _public(senior)


def link_family(*, session: Session, user: User, senior_id: int, data: FamilyLinkCreate) -> FamilyLinkPublic:
    """Link a registered family user to a senior, recording whose consent made the link."""
    senior = senior_for(session=session, user=user, senior_id=senior_id, action=SeniorAction.LINK_FAMILY)
    family = session.exec(select(User).where(User.phone == data.phone)).first()
    if family is None or family.role != Role.FAMILY:
        raise field_error("phone", "该手机号未注册为家属 / No family account with this phone", code="family_user_not_found")
    if session.exec(select(FamilyLink.id).where(FamilyLink.senior_id == senior.id, FamilyLink.user_id == family.id)).first():
        raise Conflict("已关联 / Already linked", code="already_linked")
    link = FamilyLink(senior_id=senior.id, user_id=family.id, relation=data.relation, can_book=data.can_book,
                      consent_basis="senior_self" if user.role == Role.SENIOR else "staff_witnessed",
                      consented_by=user.id)
    session.add(link)
    session.flush()
    audit.record(session, user, "family.link", "senior", senior.id, family_user_id=family.id)
    session.commit()
    return _link_public(link, family)


def list_family(*, session: Session, user: User, senior_id: int) -> list[FamilyLinkPublic]:
    """The family linked to a senior."""
    senior = senior_for(session=session, user=user, senior_id=senior_id, action=SeniorAction.READ)
    rows = session.exec(select(FamilyLink, User).join(User, User.id == FamilyLink.user_id)
                        .where(FamilyLink.senior_id == senior.id).order_by(FamilyLink.id)).all()
    return [_link_public(link, family) for link, family in rows]


def _link_public(link: FamilyLink, family: User) -> FamilyLinkPublic:
    return FamilyLinkPublic(id=link.id, senior_id=link.senior_id, user_id=family.id, name=family.name,
                            relation=link.relation, can_book=link.can_book,
                            consent_basis=link.consent_basis, consented_at=link.consented_at)


def _public(senior: Senior) -> SeniorPublic:
    return SeniorPublic.model_validate(senior, from_attributes=True)


