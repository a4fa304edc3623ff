"""Seniors: profiles, family links, Barthel assessments."""

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from models.seniors import (AssessmentCreate, AssessmentPublic, FamilyLinkCreate, FamilyLinkPublic, SeniorCreate,
                            SeniorPublic, SeniorSummary, SeniorUpdate)
from models.types import MAX_ID, Id, QueryId
from server import db
from server.api import blueprint, reply
from server.auth import current_user
from server.gazetteer import current_geocoder
from server.services import assessments, seniors

api = blueprint("seniors", "老人", "Seniors")


class SeniorPath(BaseModel):
    senior_id: Id


class SeniorQuery(BaseModel):
    community_id: QueryId | None = None
    # Hotline search: a name substring, or phone digits (spaces and dashes ignored); at least 2 characters.
    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=40)] | None = None
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_ID)


@api.post("/seniors", responses={201: SeniorPublic})
def create_senior(body: SeniorCreate):
    """Create a senior's profile (their own, as family, or as center staff)."""
    user = current_user()
    return reply(seniors.create_senior(session=db.session(), user=user, data=body, geocoder=current_geocoder()), 201)


@api.get("/seniors", responses={200: SeniorSummary})
def list_seniors(query: SeniorQuery):
    """The seniors the caller may see, without addresses."""
    user = current_user()
    return reply(seniors.list_seniors(session=db.session(), user=user, community_id=query.community_id,
                                      q=query.q, limit=query.limit, offset=query.offset))


@api.get("/seniors/<int:senior_id>", responses={200: SeniorPublic})
@db.writes
def get_senior(path: SeniorPath):
    """One senior's profile (a staff read is audited)."""
    user = current_user()
    return reply(seniors.get_senior(session=db.session(), user=user, senior_id=path.senior_id))


@api.patch("/seniors/<int:senior_id>", responses={200: SeniorPublic})
def update_senior(path: SeniorPath, body: SeniorUpdate):
    """Change a senior's profile."""
    user = current_user()
    return reply(seniors.update_senior(session=db.session(), user=user, senior_id=path.senior_id, data=body,
                                       geocoder=current_geocoder()))


@api.post("/seniors/<int:senior_id>/family", responses={201: FamilyLinkPublic})
def link_family(path: SeniorPath, body: FamilyLinkCreate):
    """Link a registered family member (by the senior, or by staff recording the senior's consent)."""
    user = current_user()
    return reply(seniors.link_family(session=db.session(), user=user, senior_id=path.senior_id, data=body), 201)


@api.get("/seniors/<int:senior_id>/family", responses={200: FamilyLinkPublic})
def list_family(path: SeniorPath):
    """The family linked to a senior."""
    user = current_user()
    return reply(seniors.list_family(session=db.session(), user=user, senior_id=path.senior_id))


@api.post("/seniors/<int:senior_id>/assessments", responses={201: AssessmentPublic})
def create_assessment(path: SeniorPath, body: AssessmentCreate):
    """Record a Barthel assessment; sets the care level (staff)."""
    user = current_user()
    return reply(assessments.create_assessment(session=db.session(), user=user, senior_id=path.senior_id,
                                               data=body), 201)


@api.get("/seniors/<int:senior_id>/assessments", responses={200: AssessmentPublic})
@db.writes
def list_assessments(path: SeniorPath):
    """A senior's assessments (staff; audited)."""
    user = current_user()
    return reply(assessments.list_assessments(session=db.session(), user=user, senior_id=path.senior_id))
