"""SOS: raise, list and read, acknowledge, resolve."""
from typing import Literal

from pydantic import BaseModel, ConfigDict

from models.sos import SosCreate, SosPublic, SosResolve
from models.types import Id, utcnow
from server import db
from server.api import blueprint, limit, reply
from server.auth import current_user
from server.idempotency import idempotent
from server.limits import counts_when_allowed, limiter, sos_senior_key
from server.services import sos

api = blueprint("safety", "紧急求助", "Safety (SOS)")


class SosPath(BaseModel):
    sos_id: Id


class SosQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["open", "all"] = "open"


@api.get("/sos", responses={200: SosPublic})
def list_sos(query: SosQuery):
    """Open ("open": not yet resolved) or recent alerts in your view, newest first, with who has seen each."""
    return reply(sos.list_sos(session=db.session(), user=current_user(), status=query.status, now=utcnow()))


@api.get("/sos/<int:sos_id>", responses={200: SosPublic})
def get_sos(path: SosPath):
    """One alert and who has acknowledged it."""
    return reply(sos.get_sos(session=db.session(), user=current_user(), sos_id=path.sos_id))


@api.post("/sos", responses={201: SosPublic, 200: SosPublic})
@limiter.limit(limit("sos_limit"), key_func=sos_senior_key, deduct_when=counts_when_allowed)
@idempotent
def raise_sos(body: SosCreate):
    """One press alerts linked family, the community's staff and the nearest on-duty providers; while
    the senior has an open alert, that alert is returned (200) instead of raising another."""
    alert, created = sos.raise_sos(session=db.session(), user=current_user(), data=body, now=utcnow())
    return reply(alert, 201 if created else 200)


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
