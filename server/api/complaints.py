"""Complaints about visits: filed by the senior's side, resolved by the community's staff."""
from pydantic import BaseModel, Field

from models.complaints import ComplaintCreate, ComplaintPublic, ComplaintQuery, ComplaintResolve
from models.types import MAX_ID, Id, utcnow
from server import db
from server.api import blueprint, reply
from server.auth import current_user
from server.services import complaints

api = blueprint("complaints", "投诉", "Complaints")


class RequestPath(BaseModel):
    request_id: Id


class ComplaintPath(BaseModel):
    complaint_id: Id


class ComplaintListQuery(ComplaintQuery):
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_ID)


@api.post("/requests/<int:request_id>/complaints", responses={201: ComplaintPublic})
def file_complaint(path: RequestPath, body: ComplaintCreate):
    """The senior, or family with booking rights, complain about a visit a provider took."""
    return reply(complaints.file_complaint(session=db.session(), user=current_user(), request_id=path.request_id,
                                           data=body, now=utcnow()), 201)


@api.get("/complaints", responses={200: ComplaintPublic})
def list_complaints(query: ComplaintListQuery):
    """Complaints in the caller's view (staff: their communities; filer: their own; provider: about them)."""
    return reply(complaints.list_complaints(session=db.session(), user=current_user(), status=query.status,
                                            limit=query.limit, offset=query.offset))


@api.post("/complaints/<int:complaint_id>/resolve", responses={200: ComplaintPublic})
def resolve_complaint(path: ComplaintPath, body: ComplaintResolve):
    """The community's staff uphold or dismiss an open complaint."""
    return reply(complaints.resolve_complaint(session=db.session(), user=current_user(),
                                              complaint_id=path.complaint_id, data=body, now=utcnow()))
