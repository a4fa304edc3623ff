"""Who may see and do what with which object: the one place per-object rules live.

An object the caller may not see answers 404 (so ids reveal nothing); one they may see but not
act on answers 403.
"""
from __future__ import annotations

from enum import StrEnum

from sqlmodel import Session, select

from dispatch.catalog import Role
from models.accounts import StaffCommunity, User
from models.providers import Organization, Provider
from models.requests import ServiceRequest
from models.seniors import FamilyLink, Senior
from server.errors import Forbidden, NotFound


class SeniorAction(StrEnum):
    READ = "read"
    EDIT = "edit"
    BOOK = "book"
    ASSESS = "assess"
    LINK_FAMILY = "link_family"


class ProviderAction(StrEnum):
    READ = "read"
    MANAGE = "manage"  # verify, suspend, blacklist


def require_role(user: User, *roles: Role) -> None:
    """403 unless the user has one of roles."""
    if user.role not in roles:
        raise Forbidden()


def staff_communities(session: Session, user: User) -> set[int] | None:
    """The communities a staff member answers for; None means all (admin); empty for others."""
    if user.role == Role.ADMIN:
        return None
    if user.role != Role.CENTER_STAFF:
        return set()
    return set(session.exec(select(StaffCommunity.community_id).where(StaffCommunity.user_id == user.id)).all())


def in_scope(scope: set[int] | None, community_id: int) -> bool:
    """True when a community lies in a staff scope (None = everywhere)."""
    return scope is None or community_id in scope


def senior_for(*, session: Session, user: User, senior_id: int, action: SeniorAction) -> Senior:
    """The senior, if user may do action with them; else 404 (unseen) or 403 (seen, not allowed)."""
    senior = session.get(Senior, senior_id)
    if senior is None:
        raise NotFound()
    link = _family_link(session, user, senior)
    if not _may_see_senior(session, user, senior, link):
        raise NotFound()
    if not _may_act_on_senior(user, senior, link, action):
        raise Forbidden()
    return senior


def _family_link(session: Session, user: User, senior: Senior) -> FamilyLink | None:
    if user.role != Role.FAMILY:
        return None
    return session.exec(select(FamilyLink).where(FamilyLink.senior_id == senior.id,
                                                 FamilyLink.user_id == user.id)).first()


def _may_see_senior(session: Session, user: User, senior: Senior, link: FamilyLink | None) -> bool:
    if user.role == Role.SENIOR:
        return senior.user_id == user.id
    if user.role == Role.FAMILY:
        return link is not None
    if user.role.is_staff:
        return in_scope(staff_communities(session, user), senior.community_id)
    return False


def _may_act_on_senior(user: User, senior: Senior, link: FamilyLink | None, action: SeniorAction) -> bool:
    if user.role.is_staff:
        return True
    if action == SeniorAction.READ:
        return True
    if user.role == Role.SENIOR:
        return action in (SeniorAction.EDIT, SeniorAction.BOOK, SeniorAction.LINK_FAMILY)
    if user.role == Role.FAMILY:
        return link is not None and link.can_book and action in (SeniorAction.EDIT, SeniorAction.BOOK)
    return False


def provider_for(*, session: Session, user: User, provider_id: int, action: ProviderAction) -> Provider:
    """The provider, if user may do action with it; else 404 or 403."""
    provider = session.get(Provider, provider_id)
    if provider is None or not _may_see_provider(session, user, provider):
        raise NotFound()
    if action == ProviderAction.MANAGE and not user.role.is_staff:
        raise Forbidden()
    return provider


def _may_see_provider(session: Session, user: User, provider: Provider) -> bool:
    if user.role == Role.PROVIDER:
        return provider.user_id == user.id
    if user.role == Role.ORG_ADMIN:
        if provider.organization_id is None:
            return False
        org = session.get(Organization, provider.organization_id)
        return org is not None and org.admin_user_id == user.id
    if user.role.is_staff:
        return in_scope(staff_communities(session, user), provider.community_id)
    return False


def organization_for(*, session: Session, user: User, organization_id: int) -> Organization:
    """The organization, if user runs it or is staff over its community; else 404."""
    org = session.get(Organization, organization_id)
    if org is None:
        raise NotFound()
    if user.role == Role.ORG_ADMIN and org.admin_user_id == user.id:
        return org
    if user.role.is_staff and in_scope(staff_communities(session, user), org.community_id):
        return org
    raise NotFound()


def provider_of(session: Session, user: User) -> Provider | None:
    """The provider profile behind a provider account."""
    if user.role != Role.PROVIDER:
        return None
    return session.exec(select(Provider).where(Provider.user_id == user.id)).first()


def request_for(*, session: Session, user: User, request_id: int, action: SeniorAction):
    """The request and its senior, if user may do action with it: the senior's side by their rights
    over the senior, a provider only for a request assigned to them; else 404 or 403."""
    request = session.get(ServiceRequest, request_id)
    if request is None:
        raise NotFound()
    if user.role == Role.PROVIDER:
        mine = provider_of(session, user)
        if mine is None or request.provider_id != mine.id:
            raise NotFound()
        return request, session.get(Senior, request.senior_id)
    senior = senior_for(session=session, user=user, senior_id=request.senior_id, action=action)
    return request, senior


def desk_request_for(*, session: Session, user: User, request_id: int):
    """A request and its senior for the center's desk: staff of the request's community or an
    admin (403 for other roles, 404 outside their communities)."""
    if not user.role.is_staff:
        raise Forbidden()
    request = session.get(ServiceRequest, request_id)
    if request is None or not in_scope(staff_communities(session, user), request.community_id):
        raise NotFound()
    return request, session.get(Senior, request.senior_id)


def account_for(*, session: Session, user: User, user_id: int) -> User:
    """An account staff may manage (reset its password): an admin any, center staff those of their
    communities (a senior's by their profile, a provider's by theirs, family by their linked
    seniors'); staff and organization admins' accounts are an admin's to manage. Others 403;
    an account outside the caller's view 404."""
    if not user.role.is_staff:
        raise Forbidden()
    target = session.get(User, user_id)
    if target is None:
        raise NotFound()
    if user.role == Role.ADMIN:
        return target
    scope = staff_communities(session, user)
    if not scope or not scope & set(_account_communities(session, target)):
        raise NotFound()
    return target


def _account_communities(session: Session, target: User) -> list[int]:
    """The communities an account belongs to, for center staff (none for staff roles)."""
    if target.role == Role.SENIOR:
        query = select(Senior.community_id).where(Senior.user_id == target.id)
    elif target.role == Role.PROVIDER:
        query = select(Provider.community_id).where(Provider.user_id == target.id)
    elif target.role == Role.FAMILY:
        query = (select(Senior.community_id).join(FamilyLink, FamilyLink.senior_id == Senior.id)
                 .where(FamilyLink.user_id == target.id))
    else:
        return []
    return list(session.exec(query).all())
