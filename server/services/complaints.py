"""Complaints about a visit: the senior's side files one, the community's staff resolve it; an upheld
complaint costs the provider credit (docs/credit.md)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from dispatch.catalog import Role
from dispatch.lifecycle import VISIT_STATUSES, ComplaintStatus, RequestStatus
from models.accounts import User
from models.complaints import Complaint, ComplaintCreate, ComplaintPublic, ComplaintResolve
from server.errors import Conflict, Forbidden, NotFound
from server.steps import audit, outbox
from server.steps.access import SeniorAction, request_for
from server.steps.credit import recompute_credit
from server.steps.scopes import complaints_in_view
from server.steps.transitions import move_complaint

# A visit one may complain about: a provider took it (and may since have finished it, or the senior
# cancelled it after that, as after a no-show).
HAD_A_PROVIDER = VISIT_STATUSES | {RequestStatus.COMPLETED, RequestStatus.CANCELLED}
FILERS = (Role.SENIOR, Role.FAMILY)


def file_complaint(*, session: Session, user: User, request_id: int, data: ComplaintCreate,
                   now: datetime) -> ComplaintPublic:
    """The senior, or family with booking rights, complain about a visit a provider took (once each)."""
    request, _senior = request_for(session=session, user=user, request_id=request_id, action=SeniorAction.BOOK)
    if user.role not in FILERS:
        raise Forbidden("只有老人或其家属可投诉 / Only the senior or their family file a complaint")
    if request.provider_id is None or request.status not in HAD_A_PROVIDER:
        raise Conflict("该服务尚无服务人员接单，无从投诉 / No provider has taken this visit: nothing to complain about",
                       code="no_provider", details={"status": str(request.status)})
    complaint = Complaint(request_id=request.id, provider_id=request.provider_id, senior_id=request.senior_id,
                          community_id=request.community_id, filed_by=user.id, category=data.category,
                          text=data.text, created_at=now)
    session.add(complaint)
    try:
        session.flush()
    except IntegrityError:  # uq_complaint_once: this filer has complained about this visit already
        session.rollback()
        raise Conflict("已投诉过此次服务 / You have already complained about this visit",
                       code="already_complained") from None
    outbox.add_user_event(session, outbox.provider_user(session, complaint.provider_id), "complaint_filed",
                          {"complaint_id": complaint.id, "request_id": request.id})
    session.commit()
    return ComplaintPublic.model_validate(complaint, from_attributes=True)


def list_complaints(*, session: Session, user: User, status: str = "open", limit: int = 100,
                    offset: int = 0) -> list[ComplaintPublic]:
    """Complaints in the caller's view, newest first: staff their communities' (an admin all), a filer
    their own, a provider those about them; status open, resolved or all."""
    query = select(Complaint).where(complaints_in_view(session, user))
    if status != "all":
        query = query.where(Complaint.status == ComplaintStatus(status).value)
    rows = session.exec(query.order_by(Complaint.created_at.desc(), Complaint.id.desc())
                        .offset(offset).limit(limit)).all()
    return [ComplaintPublic.model_validate(c, from_attributes=True) for c in rows]


def resolve_complaint(*, session: Session, user: User, complaint_id: int, data: ComplaintResolve,
                      now: datetime) -> ComplaintPublic:
    """The community's staff uphold or dismiss an open complaint; upheld, it lowers the provider's credit."""
    complaint = session.exec(select(Complaint).where(Complaint.id == complaint_id, complaints_in_view(session, user))
                             .with_for_update()).first()  # a second resolver waits, then finds it resolved
    if complaint is None:
        raise NotFound()
    if not user.role.is_staff:
        raise Forbidden()
    move_complaint(session, complaint, ComplaintStatus.RESOLVED)
    complaint.upheld, complaint.resolution = data.upheld, data.resolution
    complaint.resolved_by, complaint.resolved_at = user.id, now
    audit.record(session, user, "complaint.resolve", "complaint", complaint.id, upheld=data.upheld,
                 provider_id=complaint.provider_id, request_id=complaint.request_id)
    if data.upheld:
        session.flush()
        recompute_credit(session, complaint.provider_id, now)
    outbox.add_user_event(session, outbox.provider_user(session, complaint.provider_id), "complaint_resolved",
                          {"complaint_id": complaint.id, "upheld": data.upheld})
    session.commit()
    return ComplaintPublic.model_validate(complaint, from_attributes=True)
