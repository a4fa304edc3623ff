"""Complaints and the credit score on SQLite and PostgreSQL: an upheld complaint lowers credit (and
dispatch sees it: the revision moves), a dismissed one does not; ratings and drop-outs recompute it
by the same rule (docs/credit.md)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from dispatch.catalog import Role
from dispatch.lifecycle import RequestStatus
from models.audit import AuditLog
from models.complaints import ComplaintCreate, ComplaintResolve
from models.events import Event
from models.providers import Provider
from models.requests import RatingCreate, ServiceRequest
from models.types import utcnow
from server.errors import Conflict
from server.services import complaints, visits
from server.steps.credit import DROP_OUT, recompute_credit, record_dropout
from tests import factories as f


@pytest.fixture
def w(db_session):
    com = f.first_community(db_session)
    owner = f.user(db_session, Role.SENIOR)
    senior = f.senior(db_session, com, owner=owner)
    provider = f.provider(db_session, com)
    start = utcnow() - timedelta(hours=3)
    visits_ = [ServiceRequest(senior_id=senior.id, community_id=com.id, service_type="meal",
                              status=RequestStatus.COMPLETED, scheduled_start=start,
                              scheduled_end=start + timedelta(hours=1), provider_id=provider.id, created_by=owner.id)
               for _ in range(4)]
    db_session.add_all(visits_)
    staff = f.staff(db_session, com)
    db_session.commit()
    return {"senior": owner, "staff": staff, "provider": provider, "visits": [v.id for v in visits_]}


def provider_row(db_session, w) -> Provider:
    db_session.expire_all()
    return db_session.get(Provider, w["provider"].id)


def complain(db_session, w, visit: int = 0) -> int:
    return complaints.file_complaint(session=db_session, user=w["senior"], request_id=w["visits"][visit],
                                     data=ComplaintCreate(category="rude", text="说话很冲"), now=utcnow()).id


def decide(db_session, w, cid: int, upheld: bool):
    return complaints.resolve_complaint(session=db_session, user=w["staff"], complaint_id=cid,
                                        data=ComplaintResolve(upheld=upheld, resolution="已核实"), now=utcnow())


def test_an_upheld_complaint_lowers_credit_and_moves_the_revision(db_session, w):
    before = provider_row(db_session, w).revision
    decide(db_session, w, complain(db_session, w), upheld=True)
    after = provider_row(db_session, w)
    assert after.credit_score == 85 and after.revision > before


def test_a_dismissed_complaint_costs_nothing(db_session, w):
    before = provider_row(db_session, w).revision
    resolved = decide(db_session, w, complain(db_session, w), upheld=False)
    assert resolved.upheld is False
    after = provider_row(db_session, w)
    assert after.credit_score == 100 and after.revision == before


def test_a_complaint_is_resolved_once(db_session, w):
    cid = complain(db_session, w)
    decide(db_session, w, cid, upheld=True)
    with pytest.raises(Conflict) as err:
        decide(db_session, w, cid, upheld=True)
    assert err.value.code == "invalid_transition"
    assert provider_row(db_session, w).credit_score == 85  # not counted twice


def test_upheld_complaints_add_up_by_visit(db_session, w):
    for visit in (0, 1):
        decide(db_session, w, complain(db_session, w, visit), upheld=True)
    assert provider_row(db_session, w).credit_score == 70


def test_a_rating_recomputes_the_score_by_the_rule(db_session, w):
    decide(db_session, w, complain(db_session, w), upheld=True)
    for visit in (1, 2, 3):  # three five-star ratings: +5, softening the upheld complaint
        visits.rate_visit(session=db_session, user=w["senior"], request_id=w["visits"][visit],
                          data=RatingCreate(stars=5), now=utcnow())
    assert provider_row(db_session, w).credit_score == 90


def test_a_dropout_is_recorded_and_costs_ten(db_session, w):
    now = utcnow()
    provider = provider_row(db_session, w)
    record_dropout(db_session, provider, w["visits"][0], now)
    credit = recompute_credit(db_session, provider.id, now)
    db_session.commit()
    assert (credit.score, credit.dropouts) == (90, 1) and provider_row(db_session, w).credit_score == 90
    row = db_session.exec(select(AuditLog).where(AuditLog.action == DROP_OUT)).one()
    assert (row.actor_id, row.object_id, row.detail) == (provider.user_id, provider.id, {"request_id": w["visits"][0]})
    # 91 days on, the drop-out has aged out of its window
    assert recompute_credit(db_session, provider.id, now + timedelta(days=91)).score == 100


def test_the_provider_hears_of_a_complaint_and_its_outcome(db_session, w):
    cid = complain(db_session, w)
    decide(db_session, w, cid, upheld=False)
    rows = db_session.exec(select(Event).where(Event.user_id == w["provider"].user_id).order_by(Event.id)).all()
    assert [(e.type, e.payload["complaint_id"]) for e in rows] == [("complaint_filed", cid), ("complaint_resolved", cid)]
    assert rows[1].payload["upheld"] is False and "text" not in rows[0].payload
