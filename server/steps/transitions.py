"""Moving a request through the transition table, and the views of a request each party may see."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert
from sqlmodel import Session

from dispatch.lifecycle import InvalidTransition, RequestStatus, check_transition
from dispatch.visits import address_visible
from models.requests import RequestHistory, RequestPublic, ServiceRequest
from models.seniors import Senior
from server.errors import Conflict


def move(session: Session, request: ServiceRequest, target: RequestStatus, *, now: datetime,
         actor_id: int | None, note: str | None = None) -> None:
    """Change status by the table (409 invalid_transition otherwise) and record it in the history."""
    try:
        check_transition(request.status, target)
    except InvalidTransition as exc:
        raise invalid_transition(exc.current, exc.target) from exc
    record(session, request.id, request.status, target, now=now, actor_id=actor_id, note=note)
    request.status = target
    request.updated_at = now
    session.add(request)


_INSERT_STEP = insert(RequestHistory.__table__)


def record(session: Session, request_id: int, source: RequestStatus | None, target: RequestStatus, *,
           now: datetime, actor_id: int | None, note: str | None = None) -> None:
    """Add one step to a request's history (source None: the request was just made); the request
    must be in the database. Written at once on the table: the ORM would spend a statement and a
    RETURNING on each step for objects nobody reads in this transaction."""
    session.execute(_INSERT_STEP, {"request_id": request_id, "at": now, "actor_id": actor_id,
                                   "from_status": None if source is None else str(source),
                                   "to_status": str(target), "note": note})


def invalid_transition(current: RequestStatus, target: RequestStatus) -> Conflict:
    """The contract's 409 for an illegal status change."""
    return Conflict(f"请求当前为 {current}，不能变为 {target} / cannot go from {current} to {target}",
                    code="invalid_transition", details={"current": str(current), "target": str(target)})


def event_view(request: ServiceRequest) -> dict:
    """What events carry: the request without address or phone (clients re-fetch the rest)."""
    return RequestPublic.model_validate(request, from_attributes=True).model_dump(mode="json")


def public_view(request: ServiceRequest, senior: Senior, *, for_provider_id: int | None = None) -> RequestPublic:
    """The request as its viewer may see it: the senior's side sees the address; a provider only
    while assigned to the visit (acceptance to check-out)."""
    view = RequestPublic.model_validate(request, from_attributes=True)
    if for_provider_id is not None and not (request.provider_id == for_provider_id
                                            and address_visible(request.status)):
        return view
    return view.model_copy(update={"address": senior.address, "senior_name": senior.name,
                                   "senior_phone": senior.phone, "lat": senior.lat, "lon": senior.lon})
