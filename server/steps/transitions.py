"""The one way a status changes: requests (recorded in their history), providers and organizations,
SOS alerts, recurring plans and complaints, each by its table in dispatch.lifecycle. A refused change
is 409 invalid_transition."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import Session

from dispatch.catalog import ProviderStatus
from dispatch.lifecycle import (
    COMPLAINT_TRANSITIONS,
    PLAN_TRANSITIONS,
    PROVIDER_TRANSITIONS,
    SOS_TRANSITIONS,
    ComplaintStatus,
    InvalidTransition,
    PlanStatus,
    RequestStatus,
    SosStatus,
    check_by,
    check_progress,
    check_transition,
)
from models.bulk import JsonInsert
from models.providers import Organization, Provider
from models.requests import RequestHistory, ServiceRequest
from models.sos import SosAlert
from server.errors import Conflict


def move(session: Session, request: ServiceRequest, target: RequestStatus, *, now: datetime,
         actor_id: int | None, note: str | None = None, progress: bool = False) -> None:
    """Change a request's status by the table (by the provider's progress rules when `progress`)
    and record the step in its history; 409 invalid_transition otherwise."""
    try:
        (check_progress if progress else check_transition)(request.status, target)
    except InvalidTransition as exc:
        raise invalid_transition(exc.current, exc.target) from exc
    record(session, request.id, request.status, target, now=now, actor_id=actor_id, note=note)
    request.status = target
    request.updated_at = now
    session.add(request)


def move_if_still(session: Session, request_id: int, source: RequestStatus, target: RequestStatus, *,
                  now: datetime, actor_id: int | None, note: str | None = None, **values) -> bool:
    """Move a request from source to target in one conditional UPDATE (`… WHERE status = source`),
    so that of racing callers exactly one wins; records the step for the winner. Returns whether
    this caller won."""
    check_transition(source, target)
    won = session.exec(update(ServiceRequest)
                       .where(ServiceRequest.id == request_id, ServiceRequest.status == source.value)
                       .values(status=target.value, updated_at=now, **values)).rowcount
    if won == 1:
        record(session, request_id, source, target, now=now, actor_id=actor_id, note=note)
    return won == 1


def move_many_if_still(session: Session, notes: dict[int, str | None], source: RequestStatus,
                       target: RequestStatus, *, now: datetime, actor_id: int | None, where=None,
                       **values) -> set[int]:
    """move_if_still for several requests (the keys of notes) in one UPDATE … RETURNING, with the
    extra condition `where` if given; records the winners' steps (note by request) in one INSERT.
    Returns the ids of the requests moved."""
    check_transition(source, target)
    if not notes:
        return set()
    table = ServiceRequest.__table__
    cond = [table.c.id.in_(sorted(notes)), table.c.status == source.value] + ([where] if where is not None else [])
    won = set(session.execute(update(table).where(*cond).values(status=target.value, updated_at=now, **values)
                              .returning(table.c.id)).scalars())
    if won:
        INSERT_STEPS.execute(session, [{"request_id": rid, "at": now, "actor_id": actor_id, "from_status": str(source),
                                        "to_status": str(target), "note": notes[rid]} for rid in sorted(won)])
    return won


def enter(request: ServiceRequest, target: RequestStatus) -> None:
    """Give a request that is not yet stored the status it is inserted with (pending → target)."""
    check_transition(RequestStatus.PENDING, target)
    request.status = target


# Steps on the table, one or many (a sweep's batch, a new request's two) in one short statement
# (models.bulk): the ORM would spend a statement and a RETURNING on each for objects nobody reads.
INSERT_STEPS = JsonInsert(RequestHistory.__table__,
                          ("request_id", "at", "actor_id", "from_status", "to_status", "note"))


def record(session: Session, request_id: int, source: RequestStatus | None, target: RequestStatus, *,
           now: datetime, actor_id: int | None, note: str | None = None) -> None:
    """Add one step to a request's history (source None: the request was just made); the request
    must be in the database. Written at once, on the table (INSERT_STEPS)."""
    INSERT_STEPS.execute(session, [{"request_id": request_id, "at": now, "actor_id": actor_id,
                                    "from_status": None if source is None else str(source),
                                    "to_status": str(target), "note": note}])


def _move_by(session: Session, holder, table, target) -> None:
    try:
        check_by(table, holder.status, target)
    except InvalidTransition as exc:
        raise invalid_transition(exc.current, exc.target) from exc
    holder.status = target
    session.add(holder)


def move_provider(session: Session, holder: Provider | Organization, target: ProviderStatus) -> None:
    """Change a provider's or an organization's standing by the table."""
    _move_by(session, holder, PROVIDER_TRANSITIONS, target)


def move_sos(session: Session, alert: SosAlert, target: SosStatus) -> None:
    """Change an SOS alert's status by the table."""
    _move_by(session, alert, SOS_TRANSITIONS, target)


def move_plan(session: Session, plan, target: PlanStatus, *, now: datetime) -> None:
    """Change a recurring plan's status by the table (active ↔ paused → ended)."""
    _move_by(session, plan, PLAN_TRANSITIONS, target)
    plan.updated_at = now


def move_complaint(session: Session, complaint, target: ComplaintStatus) -> None:
    """Change a complaint's status by the table (open → resolved, once)."""
    _move_by(session, complaint, COMPLAINT_TRANSITIONS, target)


def invalid_transition(current: StrEnum | str, target: StrEnum | str) -> Conflict:
    """The contract's 409 for an illegal status change."""
    return Conflict(f"当前为 {current}，不能变为 {target} / cannot go from {current} to {target}",
                    code="invalid_transition", details={"current": str(current), "target": str(target)})
