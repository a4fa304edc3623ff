"""Recurring plans and 每日平安 daily check-ins."""
from pydantic import BaseModel, ConfigDict, Field

from models.plans import (CheckinCreate, CheckinPublic, CheckinSettingPublic, CheckinSettingUpdate, OccurrencePublic,
                          PlanCreate, PlanPublic, PlanUpdate, SkipCreate)
from models.types import MAX_ID, ClientDateTime, Id, QueryId, utcnow
from server import db
from server.api import blueprint, reply
from server.auth import current_user
from server.idempotency import idempotent
from server.services import checkins, plans

api = blueprint("plans", "服务计划与每日平安", "Recurring plans and daily check-in")


class PlanPath(BaseModel):
    plan_id: Id


class SeniorPath(BaseModel):
    senior_id: QueryId


class PlanListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    senior_id: QueryId | None = None  # none: every plan in the caller's view (the console's list)
    limit: int = Field(200, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_ID)


class OccurrenceQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    since: ClientDateTime | None = Field(default=None, alias="from")
    to: ClientDateTime | None = None


@api.post("/plans", responses={201: PlanPublic})
@idempotent
def create_plan(body: PlanCreate):
    """A recurring plan (RRULE, local start, duration); its next 14 days of visits are made at once."""
    return reply(plans.create_plan(session=db.session(), user=current_user(), data=body, now=utcnow()), 201)


@api.get("/plans", responses={200: PlanPublic})
def list_plans(query: PlanListQuery):
    """A senior's plans, or without senior_id every plan in the caller's view (staff: their communities)."""
    return reply(plans.list_plans(session=db.session(), user=current_user(), senior_id=query.senior_id,
                                  limit=query.limit, offset=query.offset))


@api.get("/plans/<int:plan_id>", responses={200: PlanPublic})
def get_plan(path: PlanPath):
    """One plan."""
    return reply(plans.get_plan(session=db.session(), user=current_user(), plan_id=path.plan_id))


@api.patch("/plans/<int:plan_id>", responses={200: PlanPublic})
def update_plan(path: PlanPath, body: PlanUpdate):
    """Pause or resume, or change the rule, time or length from a date on (the past is untouched)."""
    return reply(plans.update_plan(session=db.session(), user=current_user(), plan_id=path.plan_id, data=body,
                                   now=utcnow()))


@api.delete("/plans/<int:plan_id>", responses={200: PlanPublic})
def delete_plan(path: PlanPath):
    """End the plan: future visits cancelled, past ones kept."""
    return reply(plans.delete_plan(session=db.session(), user=current_user(), plan_id=path.plan_id, now=utcnow()))


@api.post("/plans/<int:plan_id>/skip", responses={200: OccurrencePublic})
@idempotent
def skip_occurrence(path: PlanPath, body: SkipCreate):
    """Skip the visit on one local date."""
    return reply(plans.skip_occurrence(session=db.session(), user=current_user(), plan_id=path.plan_id,
                                       day=body.date, now=utcnow()))


@api.get("/plans/<int:plan_id>/occurrences", responses={200: OccurrencePublic})
def list_occurrences(path: PlanPath, query: OccurrenceQuery):
    """Visits in [from, to): made ones with their request and status, later ones "planned"."""
    return reply(plans.list_occurrences(session=db.session(), user=current_user(), plan_id=path.plan_id,
                                        since=query.since, to=query.to, now=utcnow()))


@api.put("/seniors/<int:senior_id>/checkin", responses={200: CheckinSettingPublic})
def set_checkin(path: SeniorPath, body: CheckinSettingUpdate):
    """每日平安: opt in or out, with the local deadline ("HH:MM")."""
    return reply(checkins.set_checkin(session=db.session(), user=current_user(), senior_id=path.senior_id,
                                      data=body, now=utcnow()))


@api.post("/checkins", responses={201: CheckinPublic})
@idempotent
def check_in(body: CheckinCreate):
    """我很好: today's check-in."""
    return reply(checkins.check_in(session=db.session(), user=current_user(), senior_id=body.senior_id,
                                   now=utcnow()), 201)
