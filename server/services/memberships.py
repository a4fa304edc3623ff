"""Organization memberships: a provider who names an organization asks to join it, and only that
organization's admin accepts (or declines). Until accepted the provider has no organization."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from dispatch.catalog import Role
from models.accounts import User
from models.providers import MemberPublic, Membership, Organization, Provider
from server.errors import Conflict, Forbidden, NotFound
from server.steps import audit
from server.steps.access import organization_for

PENDING, ACCEPTED, DECLINED = "pending", "accepted", "declined"


def list_members(*, session: Session, user: User, organization_id: int, status: str = PENDING) -> list[MemberPublic]:
    """An organization's join requests (pending, declined) or members (accepted), for its admin or
    the staff over its community."""
    org = organization_for(session=session, user=user, organization_id=organization_id)
    if status == ACCEPTED:  # members, including those who joined before requests were needed
        rows = session.exec(select(Provider, Membership).outerjoin(
            Membership, (Membership.provider_id == Provider.id) & (Membership.organization_id == org.id))
            .where(Provider.organization_id == org.id).order_by(Provider.id)).all()
    else:
        rows = session.exec(select(Provider, Membership).join(Membership, Membership.provider_id == Provider.id)
                            .where(Membership.organization_id == org.id, Membership.status == status)
                            .order_by(Membership.requested_at, Membership.id)).all()
    return [_member(provider, membership, status) for provider, membership in rows]


def decide_member(*, session: Session, user: User, organization_id: int, provider_id: int, accept: bool,
                  now: datetime) -> MemberPublic:
    """The organization's admin accepts a provider's pending request (the provider joins) or declines it."""
    org = _administered(session, user, organization_id)
    membership = session.exec(select(Membership).where(Membership.organization_id == org.id,
                                                       Membership.provider_id == provider_id)).first()
    if membership is None:
        raise NotFound()
    target = ACCEPTED if accept else DECLINED
    # pending → accepted | declined, once: a conditional UPDATE, so two decisions cannot both win.
    won = session.exec(update(Membership).where(Membership.id == membership.id, Membership.status == PENDING)
                       .values(status=target, decided_at=now, decided_by=user.id)).rowcount
    if won != 1:
        raise Conflict(f"申请已处理 / The request was already {membership.status}", code="invalid_transition")
    provider = session.get(Provider, provider_id)
    if accept:
        if provider.organization_id is not None:
            raise Conflict("已属于其他机构 / The provider already belongs to an organization",
                           code="already_member")
        provider.organization_id = org.id
        session.add(provider)
    audit.record(session, user, f"membership.{target}", "provider", provider_id, organization_id=org.id)
    session.commit()
    session.refresh(membership)
    return _member(provider, membership, target)


def _administered(session: Session, user: User, organization_id: int) -> Organization:
    """The organization if user is its admin; 404 when they cannot see it, 403 for staff who can."""
    org = organization_for(session=session, user=user, organization_id=organization_id)
    if not (user.role == Role.ORG_ADMIN and org.admin_user_id == user.id):
        raise Forbidden("只有机构管理员可以处理加入申请 / Only the organization's admin decides on members",
                        code="org_admin_only")
    return org


def _member(provider: Provider, membership: Membership | None, status: str) -> MemberPublic:
    return MemberPublic(provider_id=provider.id, name=provider.name, services=provider.services,
                        community_id=provider.community_id, provider_status=provider.status, status=status,
                        requested_at=membership.requested_at if membership else None,
                        decided_at=membership.decided_at if membership else None)
