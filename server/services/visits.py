"""The visit itself: en route, check-in and check-out with positions, notes, and the rating after."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from dispatch.catalog import Role
from dispatch.lifecycle import RequestStatus
from dispatch.visits import checkin_distance_flag
from models.accounts import User
from models.providers import Provider
from models.requests import ProgressStep, Rating, RatingCreate, RequestPublic
from server.errors import Conflict, Forbidden, field_error
from server.steps import audit, outbox
from server.steps.access import SeniorAction, request_for
from server.steps.credit import recompute_credit
from server.steps.directory import bump_revision
from server.steps.transitions import move
from server.steps.views import event_view, public_view

NEEDS_POSITION = (RequestStatus.IN_SERVICE, RequestStatus.COMPLETED)


def record_progress(*, session: Session, user: User, request_id: int, data: ProgressStep,
                    now: datetime) -> RequestPublic:
    """The assigned provider moves the visit on: en route, check-in (in_service), check-out (completed).

    Check-in and check-out carry positions; a check-in far from the senior's home is kept but
    flagged for staff, since subsidies are paid on visits actually delivered.
    """
    if user.role != Role.PROVIDER:
        raise Forbidden()
    request, senior = request_for(session=session, user=user, request_id=request_id, action=SeniorAction.READ)
    if data.status in NEEDS_POSITION and (data.lat is None or data.lon is None):
        raise field_error("lat", "签到/签退需要位置 / check-in and check-out need lat and lon")
    move(session, request, data.status, now=now, actor_id=user.id, note=data.note, progress=True)
    if data.status == RequestStatus.IN_SERVICE:
        metres, flagged = checkin_distance_flag(senior.lat, senior.lon, data.lat, data.lon)
        request.checkin_at, request.checkin_lat, request.checkin_lon = now, data.lat, data.lon
        request.checkin_distance_m, request.checkin_flagged = round(metres), flagged
    elif data.status == RequestStatus.COMPLETED:
        request.checkout_at, request.checkout_lat, request.checkout_lon = now, data.lat, data.lon
        request.completed_at = now
    if data.note:
        request.service_note = data.note
    outbox.request_changed(session, request, event_view(request))
    session.commit()
    return public_view(request, senior, for_provider_id=request.provider_id)


def rate_visit(*, session: Session, user: User, request_id: int, data: RatingCreate, now: datetime) -> dict:
    """The senior's side rates a completed visit once; the provider's rating follows."""
    if user.role not in (Role.SENIOR, Role.FAMILY) and not user.role.is_staff:
        raise Forbidden()
    request, _senior = request_for(session=session, user=user, request_id=request_id, action=SeniorAction.READ)
    if request.status != RequestStatus.COMPLETED:
        raise Conflict("服务完成后才能评价 / Rate a visit once it is completed", code="not_completed")
    if session.exec(select(Rating.id).where(Rating.request_id == request.id)).first() is not None:
        raise Conflict("已评价 / Already rated", code="already_rated")
    rating = Rating(request_id=request.id, provider_id=request.provider_id, stars=data.stars,
                    comment=data.comment, created_by=user.id, created_at=now)
    session.add(rating)
    # One UPDATE in SQL, so two ratings committed at once both count.
    session.exec(update(Provider).where(Provider.id == request.provider_id)
                 .values(rating_sum=Provider.rating_sum + data.stars, rating_count=Provider.rating_count + 1))
    bump_revision(session, session.get(Provider, request.provider_id))  # ranking uses the rating
    recompute_credit(session, request.provider_id, now)  # and the credit score (docs/credit.md)
    if user.role.is_staff:
        audit.record(session, user, "rating.create", "request", request.id)
    session.commit()
    return {"request_id": request.id, "provider_id": request.provider_id, "stars": data.stars,
            "comment": data.comment}

