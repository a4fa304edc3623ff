"""Requests and offers: book, read, cancel; offers to providers; visit progress; ratings."""
from pydantic import BaseModel, Field

from dispatch.lifecycle import RequestStatus
from models.requests import CancelRequest, OfferPublic, ProgressCreate, RatingCreate, RequestCreate, RequestPublic
from models.types import MAX_ID, Id, QueryId
from server import db
from server.api import blueprint, directory, limit, reply
from models.types import utcnow
from server.auth import current_user
from server.idempotency import idempotent
from server.limits import limiter, user_key
from server.services import offers, requests, visits

api = blueprint("requests", "服务请求", "Requests")


class RequestPath(BaseModel):
    request_id: Id


class OfferPath(BaseModel):
    offer_id: Id


class RequestQuery(BaseModel):
    status: RequestStatus | None = None
    senior_id: QueryId | None = None
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_ID)


@api.post("/requests", responses={201: RequestPublic})
@limiter.limit(limit("booking_limit"), key_func=user_key)
@idempotent
def create_request(body: RequestCreate):
    """Book a service; without scheduled_start it is as soon as possible and offered at once."""
    return reply(requests.create_request(session=db.session(), user=current_user(), data=body,
                                         directory=directory(), now=utcnow()), 201)


@api.get("/requests", responses={200: RequestPublic})
def list_requests(query: RequestQuery):
    """Requests the caller may see, newest first."""
    return reply(requests.list_requests(session=db.session(), user=current_user(), status=query.status,
                                        senior_id=query.senior_id, limit=query.limit, offset=query.offset))


@api.get("/requests/<int:request_id>", responses={200: RequestPublic})
def get_request(path: RequestPath):
    """One request (the address only for the senior's side, and for the provider during the visit)."""
    return reply(requests.get_request(session=db.session(), user=current_user(), request_id=path.request_id))


@api.post("/requests/<int:request_id>/cancel", responses={200: RequestPublic})
@idempotent
def cancel_request(path: RequestPath, body: CancelRequest):
    """Cancel (the senior's side), or drop out of an accepted visit (the provider: it is re-offered)."""
    return reply(requests.cancel_request(session=db.session(), user=current_user(), request_id=path.request_id,
                                         reason=body.reason, directory=directory(), now=utcnow()))


@api.post("/requests/<int:request_id>/progress", responses={200: RequestPublic})
def record_progress(path: RequestPath, body: ProgressCreate):
    """The assigned provider: en_route, in_service (check-in) or completed (check-out)."""
    return reply(visits.record_progress(session=db.session(), user=current_user(), request_id=path.request_id,
                                        data=body.root, now=utcnow()))


@api.post("/requests/<int:request_id>/rating", responses={201: RatingCreate})
def rate_request(path: RequestPath, body: RatingCreate):
    """Rate a completed visit (once)."""
    return reply(visits.rate_visit(session=db.session(), user=current_user(), request_id=path.request_id,
                                   data=body, now=utcnow()), 201)


@api.get("/offers", responses={200: OfferPublic})
def list_offers():
    """The provider's open offers: distance and area, no address."""
    return reply(offers.list_offers(session=db.session(), user=current_user(), now=utcnow()))


@api.post("/offers/<int:offer_id>/accept", responses={200: RequestPublic})
@idempotent
def accept_offer(path: OfferPath):
    """Accept: exactly one provider wins; the others get 409 offer_taken."""
    return reply(offers.accept_offer(session=db.session(), user=current_user(), offer_id=path.offer_id,
                                     now=utcnow()))


@api.post("/offers/<int:offer_id>/decline", responses={200: OfferPublic})
def decline_offer(path: OfferPath):
    """Decline an offer."""
    return reply(offers.decline_offer(session=db.session(), user=current_user(), offer_id=path.offer_id,
                                      directory=directory(), now=utcnow()))
