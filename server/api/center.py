"""The community center's desk: the requests it must handle by hand."""
from pydantic import BaseModel, ConfigDict, Field

from dispatch.lifecycle import RequestStatus
from models.plans import MissingCheckin
from models.live import CandidatePublic, LiveSnapshot
from models.requests import AssignCreate, RequestPublic
from models.types import MAX_ID, ClientDate, Id, QueryId
from server import db
from server.api import blueprint, directory, reply
from models.types import utcnow
from server.auth import current_user
from server.errors import Forbidden
from server.services import candidates, checkins, live, offers, requests

api = blueprint("center", "社区中心", "Community center")


class RequestPath(BaseModel):
    request_id: Id


class CenterRequestQuery(BaseModel):
    status: RequestStatus | None = RequestStatus.ESCALATED
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_ID)


@api.get("/center/requests", responses={200: RequestPublic})
def list_center_requests(query: CenterRequestQuery):
    """Requests in the staff's communities (escalated ones by default)."""
    user = current_user()
    if not user.role.is_staff:
        raise Forbidden()
    return reply(requests.list_requests(session=db.session(), user=user, status=query.status,
                                        limit=query.limit, offset=query.offset))


@api.post("/center/requests/<int:request_id>/assign", responses={200: RequestPublic})
def assign_request(path: RequestPath, body: AssignCreate):
    """Assign a provider by hand."""
    return reply(offers.assign_by_staff(session=db.session(), user=current_user(), request_id=path.request_id,
                                        provider_id=body.provider_id, now=utcnow()))


class LiveQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    community_id: QueryId | None = None


@api.get("/center/live", responses={200: LiveSnapshot})
def live_operations(query: LiveQuery):
    """Live operations: open requests (overdue flagged), open SOS alerts with acks, providers on duty."""
    return reply(live.live_snapshot(session=db.session(), user=current_user(), community_id=query.community_id,
                                    now=utcnow()))


@api.get("/center/requests/<int:request_id>/candidates", responses={200: CandidatePublic})
def request_candidates(path: RequestPath):
    """Providers to assign by hand, best first: eligible ones as dispatch ranks them, then near ones with why not."""
    return reply(candidates.request_candidates(session=db.session(), user=current_user(), request_id=path.request_id,
                                               directory=directory(), now=utcnow()))


class CheckinQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: ClientDate | None = None


@api.get("/center/checkins", responses={200: MissingCheckin})
def list_missing_checkins(query: CheckinQuery):
    """每日平安: seniors of the staff's communities who had not checked in by their deadline on date (today)."""
    return reply(checkins.missing_checkins(session=db.session(), user=current_user(), day=query.date, now=utcnow()))
