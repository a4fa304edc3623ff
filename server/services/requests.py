"""Booking care: create a request (dispatching it when due), read, list and cancel requests."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from dispatch.catalog import Role
from dispatch.lifecycle import CANCELLABLE, RequestStatus
from dispatch.matching import priority_of
from models.accounts import User
from models.requests import RequestCreate, RequestPublic, ServiceRequest
from server.errors import Forbidden, field_error
from server.steps import audit, outbox
from server.steps.access import SeniorAction, provider_of, request_for, senior_for
from server.steps.directory import ProviderDirectory
from server.steps.scopes import requests_in_view
from server.steps.transitions import invalid_transition, move, record
from server.steps.views import event_view, public_view, with_provider_and_rating
from server.steps.visits import release_visit
from server.steps.waves import is_due, offer_new_request, spec_for, withdraw_open_offers

MAX_AHEAD = timedelta(days=90)
PAST_TOLERANCE = timedelta(minutes=5)


def create_request(*, session: Session, user: User, data: RequestCreate, directory: ProviderDirectory,
                   now: datetime) -> RequestPublic:
    """Book a service for a senior (themself, linked family with booking rights, or the community's
    staff); an as-soon-as-possible or soon-due request is offered to its first wave at once."""
    senior = senior_for(session=session, user=user, senior_id=data.senior_id, action=SeniorAction.BOOK)
    if data.channel == "hotline" and not user.role.is_staff:
        raise Forbidden("只有社区工作人员可代来电老人下单 / Only center staff book for a senior who phoned in",
                        code="hotline_staff_only")
    start = data.scheduled_start
    if start is not None and not (now - PAST_TOLERANCE <= start <= now + MAX_AHEAD):
        raise field_error("scheduled_start", "须在 90 天内的将来 / must be in the next 90 days")
    start = start or now
    request = ServiceRequest(senior_id=senior.id, community_id=senior.community_id, service_type=data.service_type,
                             asap=data.scheduled_start is None, scheduled_start=start,
                             scheduled_end=start + timedelta(minutes=data.duration_minutes),
                             duration_minutes=data.duration_minutes, notes=data.notes, created_by=user.id,
                             created_at=now, updated_at=now, channel=data.channel)
    request.priority = priority_of(spec_for(request, senior))
    if is_due(request, now):
        offer_new_request(session, request, senior, directory=directory, now=now, actor_id=user.id)
    else:
        session.add(request)
        session.flush()
        record(session, request.id, None, RequestStatus.PENDING, now=now, actor_id=user.id)
        outbox.request_changed(session, request, event_view(request))
    if user.role.is_staff:  # a booking on a senior's behalf (by phone or not) is a staff action
        audit.record(session, user, "request.create", "request", request.id, senior_id=senior.id,
                     channel=data.channel)
    session.commit()
    return public_view(request, senior)


def get_request(*, session: Session, user: User, request_id: int) -> RequestPublic:
    """One request, as this caller may see it."""
    request, senior = request_for(session=session, user=user, request_id=request_id, action=SeniorAction.READ)
    mine = provider_of(session, user)
    view = public_view(request, senior, for_provider_id=mine.id if mine else None)
    return with_provider_and_rating(session, [view])[0]


def list_requests(*, session: Session, user: User, status: RequestStatus | None = None,
                  senior_id: int | None = None, limit: int = 100, offset: int = 0) -> list[RequestPublic]:
    """The requests this caller may see, newest first (no addresses in lists)."""
    query = select(ServiceRequest).where(requests_in_view(session, user))
    if status is not None:
        query = query.where(ServiceRequest.status == status.value)
    if senior_id is not None:
        query = query.where(ServiceRequest.senior_id == senior_id)
    rows = session.exec(query.order_by(ServiceRequest.id.desc()).offset(offset).limit(limit)).all()
    return with_provider_and_rating(session, [RequestPublic.model_validate(r, from_attributes=True) for r in rows])


def cancel_request(*, session: Session, user: User, request_id: int, reason: str | None,
                   directory: ProviderDirectory, now: datetime) -> RequestPublic:
    """The senior's side cancels; the assigned provider dropping out sends the request back to dispatch."""
    request, senior = request_for(session=session, user=user, request_id=request_id, action=SeniorAction.BOOK)
    # Read it again under its row lock (PostgreSQL; SQLite writes one at a time anyway): a sweep
    # batch holding it may be opening a wave, whose offers this must see to withdraw them.
    session.refresh(request, with_for_update=True)
    if user.role == Role.PROVIDER:
        release_visit(session, request, now=now, actor_id=user.id, reason=reason or "provider_cancelled",
                      directory=directory, dropped_out=True)
        session.commit()
        return RequestPublic.model_validate(request, from_attributes=True)
    if request.status not in CANCELLABLE:
        raise invalid_transition(request.status, RequestStatus.CANCELLED)
    withdraw_open_offers(session, request, now=now, reason="cancelled")
    provider_id = request.provider_id
    move(session, request, RequestStatus.CANCELLED, now=now, actor_id=user.id, note=reason)
    request.cancelled_at, request.cancel_reason = now, reason
    outbox.request_changed(session, request, event_view(request),
                           extra_users=(outbox.provider_user(session, provider_id),))
    session.commit()
    return public_view(request, senior)
