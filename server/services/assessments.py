"""Barthel needs assessments by center staff, and the care level they set."""
from __future__ import annotations

from sqlmodel import Session, select

from dispatch.assessment import InvalidAssessment, score_assessment
from models.accounts import User
from models.seniors import Assessment, AssessmentCreate, AssessmentPublic
from server.errors import Invalid
from server.steps import audit
from server.steps.access import SeniorAction, senior_for
from server.steps.coverage import note_senior_change


def create_assessment(*, session: Session, user: User, senior_id: int, data: AssessmentCreate) -> AssessmentPublic:
    """Score a Barthel assessment and set the senior's care level (staff only)."""
    senior = senior_for(session=session, user=user, senior_id=senior_id, action=SeniorAction.ASSESS)
    items = data.items.model_dump()
    try:
        score, level = score_assessment(items)
    except InvalidAssessment as exc:
        raise Invalid("评估分值不符合巴氏量表 / Scores outside the Barthel scale", code="invalid_assessment",
                      details=[{"field": f"items.{k}", "message": v} for k, v in exc.problems.items()]) from exc
    assessment = Assessment(senior_id=senior.id, assessor_id=user.id, items=items, score=score, care_level=level)
    senior.care_level = level
    note_senior_change(session, senior)  # the care level weighs in coverage and siting
    session.add_all([assessment, senior])
    session.flush()
    audit.record(session, user, "assessment.create", "senior", senior.id, score=score, care_level=str(level))
    session.commit()
    return AssessmentPublic.model_validate(assessment, from_attributes=True)


def list_assessments(*, session: Session, user: User, senior_id: int) -> list[AssessmentPublic]:
    """A senior's assessments, newest first (staff only; the read is audited)."""
    senior = senior_for(session=session, user=user, senior_id=senior_id, action=SeniorAction.ASSESS)
    rows = session.exec(select(Assessment).where(Assessment.senior_id == senior.id)
                        .order_by(Assessment.created_at.desc(), Assessment.id.desc())).all()
    audit.record(session, user, "assessment.read", "senior", senior.id)
    session.commit()
    return [AssessmentPublic.model_validate(a, from_attributes=True) for a in rows]
