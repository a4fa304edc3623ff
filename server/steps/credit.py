"""Recomputing a provider's credit score from its inputs (the rule: dispatch.credit, docs/credit.md).

One step for the three events that change it: a complaint resolved as upheld, a rating, a drop-out
after accepting. The caller commits.
"""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from dispatch.credit import Credit, credit_score, dropouts_since, upheld_since
from dispatch.lifecycle import ComplaintStatus
from models.audit import AuditLog
from models.complaints import Complaint
from models.providers import Provider
from server.steps.directory import bump_revision

# The audit action a drop-out is recorded under (server.steps.visits.release_visit); the rule counts them.
DROP_OUT = "provider.drop_out"


def record_dropout(session: Session, provider: Provider, request_id: int, now: datetime) -> None:
    """Write a drop-out after accepting to the audit log (the provider is the actor): the standing
    change the rule counts."""
    session.add(AuditLog(at=now, actor_id=provider.user_id, action=DROP_OUT, object_type="provider",
                         object_id=provider.id, detail={"request_id": request_id}))


def recompute_credit(session: Session, provider_id: int, now: datetime) -> Credit:
    """Store the provider's score from what is committed and in this transaction. The provider's row
    is locked first (PostgreSQL), so two events at once both count: the second reads after the first."""
    user_id, stored, rating_sum, rating_count = session.exec(
        select(Provider.user_id, Provider.credit_score, Provider.rating_sum, Provider.rating_count)
        .where(Provider.id == provider_id).with_for_update()).one()
    upheld = session.exec(select(Complaint.request_id, Complaint.resolved_at).where(
        Complaint.provider_id == provider_id, Complaint.status == ComplaintStatus.RESOLVED.value,
        Complaint.upheld.is_(True), Complaint.resolved_at >= upheld_since(now))).all()
    dropouts = session.exec(select(AuditLog.at).where(
        AuditLog.actor_id == user_id, AuditLog.action == DROP_OUT, AuditLog.object_type == "provider",
        AuditLog.object_id == provider_id, AuditLog.at >= dropouts_since(now))).all()
    credit = credit_score(upheld_visits=upheld, dropouts=dropouts, rating_sum=rating_sum,
                          rating_count=rating_count, now=now)
    if stored != credit.score:
        provider = session.get(Provider, provider_id)
        provider.credit_score = credit.score  # the flush writes the changed columns only
        bump_revision(session, provider)  # dispatch ranking uses the credit score
    return credit
