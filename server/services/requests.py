"""Booking care: create a request (dispatching it when due), read, list and cancel requests."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, update
from sqlmodel import Session, select

from dispatch.catalog import Role
from dispatch.lifecycle import CANCELLABLE, OfferStatus, RequestStatus, VISIT_STATUSES
from dispatch.matching import priority_of
from models.accounts import User
from models.providers import Provider
from models.requests import Offer, RequestCreate, RequestPublic, ServiceRequest
from models.seniors import FamilyLink, Senior
from server.errors import field_error
from server.services import events
from server.services.access import SeniorAction, provider_of, request_for, senior_for, staff_communities
from server.services.directory import ProviderDirectory, bump_revision
from server.services.dispatching import is_due, offer_new_request, open_next_wave, spec_for, withdraw_open_offers
from server.services.lifecycle import event_view, invalid_transition, move, public_view, record

MAX_AHEAD = timedelta(days=90)
PAST_TOLERANCE = timedelta(minutes=5)


def create_request(*, session: Session, user: User, data: RequestCreate, directory: ProviderDirectory,
                   now: datetime) -> RequestPublic:
    """Book a service for a senior (themself, linked family with booking rights, or the community's
    staff); an as-soon-as-possible or soon-due request is offered to its first wave at once."""
    senior = senior_for(session=session, user=user, senior_id=data.senior_id, action=SeniorAction.BOOK)
    start = data.scheduled_start
    if start is not None and not (now - PAST_TOLERANCE <= start <= now + MAX_AHEAD):
        raise field_error("scheduled_start", "须在 90 天内的将来 / must be in the next 90 days")
    start = start or now
    request = ServiceRequest(senior_id=senior.id, community_id=senior.community_id, service_type=data.service_type,
                             asap=data.scheduled_start is None, scheduled_start=start,
                             scheduled_end=start + timedelta(minutes=data.duration_minutes),
                             duration_minutes=data.duration_minutes, notes=data.notes, created_by=user.id,
                             created_at=now, updated_at=now)
    request.priority = priority_of(spec_for(request, senior))
    if is_due(request, now):
        offer_new_request(session, request, senior, directory=directory, now=now, actor_id=user.id)
    else:
        session.add(request)
        session.flush()
        record(session, request.id, None, RequestStatus.PENDING, now=now, actor_id=user.id)
        events.request_changed(session, request, event_view(request))
    session.commit()
    return public_view(request, senior)


def get_request(*, session: Session, user: User, request_id: int) -> RequestPublic:
    """One request, as this caller may see it."""
    request, senior = request_for(session=session, user=user, request_id=request_id, action=SeniorAction.READ)
    mine = provider_of(session, user)
    return public_view(request, senior, for_provider_id=mine.id if mine else None)


def list_requests(*, session: Session, user: User, status: RequestStatus | None = None,
                  senior_id: int | None = None, limit: int = 100, offset: int = 0) -> list[RequestPublic]:
    """The requests this caller may see, newest first (no addresses in lists)."""
    query = select(ServiceRequest)
    if user.role == Role.SENIOR:
        query = query.join(Senior, Senior.id == ServiceRequest.senior_id).where(Senior.user_id == user.id)
    elif user.role == Role.FAMILY:
        query = query.join(FamilyLink, FamilyLink.senior_id == ServiceRequest.senior_id) \
            .where(FamilyLink.user_id == user.id)
    elif user.role == Role.PROVIDER:
        mine = provider_of(session, user)
        query = query.where(ServiceRequest.provider_id == (mine.id if mine else -1))
    elif user.role.is_staff:
        scope = staff_communities(session, user)
        if scope is not None:
            query = query.where(ServiceRequest.community_id.in_(scope))
    else:
        return []
    if status is not None:
        query = query.where(ServiceRequest.status == status.value)
    if senior_id is not None:
        query = query.where(ServiceRequest.senior_id == senior_id)
    rows = session.exec(query.order_by(ServiceRequest.id.desc()).offset(offset).limit(limit)).all()
    return [RequestPublic.model_validate(r, from_attributes=True) for r in rows]


def cancel_request(*, session: Session, user: User, request_id: int, reason: str | None,
                   directory: ProviderDirectory, now: datetime) -> RequestPublic:
    """The senior's side cancels; the assigned provider dropping out sends the request back to dispatch."""
    request, senior = request_for(session=session, user=user, request_id=request_id, action=SeniorAction.BOOK)
    if user.role == Role.PROVIDER:
        release_visit(session, request, now=now, actor_id=user.id, reason=reason or "provider_cancelled",
                      directory=directory, penalty=5)
        session.commit()
        return RequestPublic.model_validate(request, from_attributes=True)
    if request.status not in CANCELLABLE:
        raise invalid_transition(request.status, RequestStatus.CANCELLED)
    withdraw_open_offers(session, request, now=now, reason="cancelled")
    provider_id = request.provider_id
    move(session, request, RequestStatus.CANCELLED, now=now, actor_id=user.id, note=reason)
    request.cancelled_at, request.cancel_reason = now, reason
    events.request_changed(session, request, event_view(request),
                           extra_users=(events.provider_user(session, provider_id),))
    session.commit()
    return public_view(request, senior)


def release_visit(session: Session, request: ServiceRequest, *, now: datetime, actor_id: int | None,
                  reason: str, directory: ProviderDirectory, penalty: int = 0) -> None:
    """Take an assigned visit back from its provider and offer it again (caller commits)."""
    if request.status not in VISIT_STATUSES or request.status == RequestStatus.IN_SERVICE:
        raise invalid_transition(request.status, RequestStatus.OFFERING)
    provider = session.get(Provider, request.provider_id)
    dropped_user = provider.user_id
    if penalty:  # a drop-out after accepting costs credit (SQL arithmetic: no lost update)
        session.exec(update(Provider).where(Provider.id == provider.id).values(
            credit_score=case((Provider.credit_score > penalty, Provider.credit_score - penalty), else_=0)))
        bump_revision(session, provider)  # ranking uses the credit score
    for offer in session.exec(select(Offer).where(Offer.request_id == request.id,
                                                  Offer.provider_id == provider.id)).all():
        offer.status, offer.responded_at = OfferStatus.DECLINED, now  # their choice: not asked again
        session.add(offer)
    request.provider_id, request.assigned_at, request.wave = None, None, 0
    move(session, request, RequestStatus.OFFERING, now=now, actor_id=actor_id, note=reason)
    events.request_changed(session, request, event_view(request), extra_users=(dropped_user,))
    # Wave numbering restarts, but every provider offered before stays excluded (already offered).
    open_next_wave(session, request, directory=directory, now=now, actor_id=actor_id)

