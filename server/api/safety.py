"""SOS: raise, acknowledge, resolve."""
from pydantic import BaseModel

from models.sos import SosCreate, SosPublic, SosResolve
from models.types import Id
from server import db
from server.api import blueprint, limit, reply
from models.types import utcnow
from server.auth import current_user
from server.idempotency import idempotent
from server.limits import limiter, sos_senior_key
from server.services import sos

api = blueprint("safety", "紧急求助", "Safety (SOS)")


class SosPath(BaseModel):
    sos_id: Id


@api.post("/sos", responses={201: SosPublic})
@limiter.limit(limit("sos_limit"), key_func=sos_senior_key)
@idempotent
def raise_sos(body: SosCreate):
    """One press alerts linked family, the community's staff and the nearest on-duty providers."""
    return reply(sos.raise_sos(session=db.session(), user=current_user(), data=body, now=utcnow()), 201)


@api.post("/sos/<int:sos_id>/ack", responses={200: SosPublic})
@idempotent
def acknowledge_sos(path: SosPath):
    """Say you are on it."""
    return reply(sos.acknowledge_sos(session=db.session(), user=current_user(), sos_id=path.sos_id, now=utcnow()))


@api.post("/sos/<int:sos_id>/resolve", responses={200: SosPublic})
def resolve_sos(path: SosPath, body: SosResolve):
    """Close the alert with what happened."""
    return reply(sos.resolve_sos(session=db.session(), user=current_user(), sos_id=path.sos_id, note=body.note,
                                 now=utcnow()))
