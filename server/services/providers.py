"""Providers and their organizations: profiles, verification and sanctions, duty status."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from dispatch.catalog import ProviderStatus, Role
from dispatch.lifecycle import OfferStatus, RequestStatus
from dispatch.visits import coarse_area
from models.accounts import User
from models.providers import (DutyUpdate, Membership, Organization, OrganizationCreate, OrganizationPublic,
                              Provider, ProviderCreate, ProviderPublic, SanctionPublic)
from models.requests import Offer, ServiceRequest
from models.types import utcnow
from server.errors import Conflict, Forbidden, field_error
from server.steps import audit, outbox
from server.steps.access import ProviderAction, organization_for, provider_for, require_role
from server.steps.directory import ProviderDirectory, bump_revision
from server.steps.places import nearest_community
from server.steps.reoffers import offer_to_arrival
from server.steps.scopes import providers_in_view
from server.steps.transitions import move_provider
from server.steps.visits import release_visit

# On-duty positions are kept coarse (3 decimals ≈ 100 m) and overwritten: a place, not a trail.
DUTY_PRECISION = 3

# What each sanction may follow. Only an admin lifts a blacklisting (see set_provider_status).
def create_organization(*, session: Session, user: User, data: OrganizationCreate) -> OrganizationPublic:
    """Register a service organization (org_admin); it waits for the center's verification."""
    require_role(user, Role.ORG_ADMIN)
    if session.exec(select(Organization.id).where(Organization.license_no == data.license_no)).first():
        raise Conflict("该执照号已登记 / License number already registered", code="license_taken")
    community = nearest_community(session, data.lat, data.lon)
    org = Organization(**data.model_dump(), community_id=community.id, admin_user_id=user.id)
    session.add(org)
    session.flush()
    audit.record(session, user, "organization.create", "organization", org.id)
    session.commit()
    return OrganizationPublic.model_validate(org, from_attributes=True)


def get_organization(*, session: Session, user: User, organization_id: int) -> OrganizationPublic:
    """One organization, for its admin or the staff over its community."""
    org = organization_for(session=session, user=user, organization_id=organization_id)
    sanctioned = session.exec(select(Provider).where(
        Provider.organization_id == org.id,
        Provider.status.in_([ProviderStatus.SUSPENDED.value, ProviderStatus.BLACKLISTED.value]))).all()
    sanctions = [SanctionPublic(provider_id=p.id, name=p.name, status=p.status, reason=p.status_reason,
                                at=p.status_changed_at) for p in sanctioned]
    sanctions.sort(key=lambda s: (s.at or org.created_at, s.provider_id), reverse=True)  # newest first
    return OrganizationPublic.model_validate(org, from_attributes=True).model_copy(update={"sanctions": sanctions})


def verify_organization(*, session: Session, user: User, organization_id: int) -> OrganizationPublic:
    """Center staff verify an organization's registration."""
    org = organization_for(session=session, user=user, organization_id=organization_id)
    if not user.role.is_staff:
        raise Forbidden()
    _check_lifting(user, org.status, ProviderStatus.VERIFIED)
    move_provider(session, org, ProviderStatus.VERIFIED)
    org.status_changed_at = utcnow()
    audit.record(session, user, "organization.verify", "organization", org.id)
    session.commit()
    return OrganizationPublic.model_validate(org, from_attributes=True)


def create_provider(*, session: Session, user: User, data: ProviderCreate) -> ProviderPublic:
    """A provider registers their own profile; it waits for the center's verification, and a named
    organization's admin must accept them before they belong to it."""
    require_role(user, Role.PROVIDER)
    if session.exec(select(Provider.id).where(Provider.user_id == user.id)).first():
        raise Conflict("已有服务人员档案 / You already have a provider profile", code="profile_exists")
    if data.organization_id is not None:
        org = session.get(Organization, data.organization_id)
        if org is None or org.status == ProviderStatus.BLACKLISTED:
            raise field_error("organization_id", "机构不存在或已列入黑名单 / Unknown or blacklisted organization")
    community = nearest_community(session, data.base_lat, data.base_lon)
    # Naming an organization asks to join it: its admin accepts (services.memberships) before it counts.
    provider = Provider(**data.model_dump(mode="json", exclude={"organization_id"}), user_id=user.id,
                        community_id=community.id)
    session.add(provider)
    session.flush()
    if data.organization_id is not None:
        session.add(Membership(organization_id=data.organization_id, provider_id=provider.id))
    bump_revision(session, provider)
    audit.record(session, user, "provider.create", "provider", provider.id,
                 organization_requested=data.organization_id)
    session.commit()
    return provider_public(provider).model_copy(update={"pending_organization_id": data.organization_id})


def get_provider(*, session: Session, user: User, provider_id: int) -> ProviderPublic:
    """One provider's profile, for themself, their organization's admin or the staff over them."""
    return provider_public(provider_for(session=session, user=user, provider_id=provider_id, action=ProviderAction.READ))


def list_providers(*, session: Session, user: User, status: ProviderStatus | None = None,
                   limit: int = 100, offset: int = 0) -> list[ProviderPublic]:
    """Providers in the caller's view: staff their communities, org admins their organization's."""
    query = select(Provider).where(providers_in_view(session, user))
    if status is not None:
        query = query.where(Provider.status == status)
    rows = session.exec(query.order_by(Provider.id).offset(offset).limit(limit)).all()
    return [provider_public(p) for p in rows]


def set_provider_status(*, session: Session, user: User, provider_id: int, status: ProviderStatus,
                        reason: str | None, directory: ProviderDirectory | None = None,
                        now: datetime | None = None) -> ProviderPublic:
    """Verify, suspend or blacklist a provider (staff of its community). A sanction takes them off
    duty, withdraws their open offers and sends their accepted visits back to dispatch."""
    provider = provider_for(session=session, user=user, provider_id=provider_id, action=ProviderAction.MANAGE)
    _check_lifting(user, provider.status, status)
    now = now or utcnow()
    move_provider(session, provider, status)
    provider.status_reason, provider.status_changed_at = reason, now
    if status != ProviderStatus.VERIFIED:
        if provider.on_duty:  # off the console's live view
            outbox.dashboard_changed(session, provider.community_id, "provider")
        provider.on_duty, provider.duty_lat, provider.duty_lon = False, None, None
    bump_revision(session, provider)
    audit.record(session, user, f"provider.{status}", "provider", provider.id, reason=reason)
    if status in (ProviderStatus.SUSPENDED, ProviderStatus.BLACKLISTED):
        _hand_back_work(session, provider, now=now, actor_id=user.id,
                        directory=directory or ProviderDirectory(session.get_bind()))
    else:  # verified: escalated requests still wanted that they may take are offered to them
        offer_to_arrival(session, provider, now=now)
    session.commit()
    return provider_public(provider)


def _check_lifting(user: User, current: ProviderStatus, target: ProviderStatus) -> None:
    """Only an admin lifts a blacklisting (of a provider or an organization)."""
    if current == ProviderStatus.BLACKLISTED and target == ProviderStatus.VERIFIED and user.role != Role.ADMIN:
        raise Forbidden("解除黑名单需管理员 / Only an admin lifts a blacklisting", code="admin_only")


def _hand_back_work(session: Session, provider: Provider, *, now: datetime, actor_id: int,
                    directory: ProviderDirectory) -> None:
    """Withdraw a sanctioned provider's open offers and re-dispatch their visits not yet begun."""
    for offer in session.exec(select(Offer).where(Offer.provider_id == provider.id,
                                                  Offer.status == OfferStatus.OFFERED.value)).all():
        offer.status, offer.responded_at = OfferStatus.WITHDRAWN, now
        session.add(offer)
        outbox.add_user_event(session, provider.user_id, "offer_withdrawn",
                              {"offer_id": offer.id, "reason": "provider_sanctioned"})
    for request in session.exec(select(ServiceRequest).where(
            ServiceRequest.provider_id == provider.id,
            ServiceRequest.status.in_([RequestStatus.ASSIGNED.value, RequestStatus.EN_ROUTE.value]))).all():
        release_visit(session, request, now=now, actor_id=actor_id, reason="provider_sanctioned",
                      directory=directory)


def set_duty(*, session: Session, user: User, data: DutyUpdate, now: datetime) -> ProviderPublic:
    """A verified provider goes on or off duty; the position is coarse and cleared off duty."""
    require_role(user, Role.PROVIDER)
    provider = session.exec(select(Provider).where(Provider.user_id == user.id)).first()
    if provider is None:
        raise Conflict("请先建立服务人员档案 / Create your provider profile first", code="no_provider_profile")
    if data.on_duty and provider.status != ProviderStatus.VERIFIED:
        raise Conflict("审核通过后才能上岗 / You can go on duty once verified", code="provider_not_verified")
    if (data.lat is None) != (data.lon is None):
        raise field_error("lat", "lat 与 lon 须同时提供 / give both lat and lon")
    shown = _as_console_shows(provider)
    provider.on_duty = data.on_duty
    keep = data.on_duty and data.lat is not None
    provider.duty_lat = round(data.lat, DUTY_PRECISION) if keep else None
    provider.duty_lon = round(data.lon, DUTY_PRECISION) if keep else None
    provider.duty_updated_at = now
    bump_revision(session, provider)
    if _as_console_shows(provider) != shown:  # on or off duty, or moved by a console's ~1 km
        outbox.dashboard_changed(session, provider.community_id, "provider")
    if data.on_duty:  # escalated requests still wanted nearby are offered to them at once
        offer_to_arrival(session, provider, now=now)
    session.commit()
    return provider_public(provider)


def _as_console_shows(provider: Provider) -> tuple:
    """What the console's live view shows of a provider's duty: on duty, and where to ~1 km."""
    lat, lon = (provider.duty_lat, provider.duty_lon) if provider.duty_lat is not None else (
        provider.base_lat, provider.base_lon)
    return provider.on_duty, coarse_area(lat, lon) if provider.on_duty else None


def provider_public(provider: Provider) -> ProviderPublic:
    """The profile as the API shows it."""
    rating = round(provider.rating_sum / provider.rating_count, 2) if provider.rating_count else None
    fields = provider.model_dump(exclude={"rating_sum", "user_id", "duty_lat", "duty_lon", "created_at"})
    return ProviderPublic(**fields, rating_avg=rating)

