"""Handing an assigned visit back to dispatch: a provider drops out or is sanctioned."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from dispatch.lifecycle import VISIT_STATUSES, OfferStatus, RequestStatus
from models.providers import Provider
from models.requests import Offer, ServiceRequest
from server.steps import outbox
from server.steps.credit import recompute_credit, record_dropout
from server.steps.directory import ProviderDirectory
from server.steps.transitions import invalid_transition, move
from server.steps.views import event_view
from server.steps.waves import open_next_wave


def release_visit(session: Session, request: ServiceRequest, *, now: datetime, actor_id: int | None,
                  reason: str, directory: ProviderDirectory, dropped_out: bool = False) -> None:
    """Take an assigned visit back from its provider and offer it again (caller commits). When the
    provider dropped out after accepting, that is recorded and costs credit (docs/credit.md)."""
    if request.status not in VISIT_STATUSES or request.status == RequestStatus.IN_SERVICE:
        raise invalid_transition(request.status, RequestStatus.OFFERING)
    provider = session.get(Provider, request.provider_id)
    dropped_user = provider.user_id
    if dropped_out:
        record_dropout(session, provider, request.id, now)
        recompute_credit(session, provider.id, now)
    for offer in session.exec(select(Offer).where(Offer.request_id == request.id,
                                                  Offer.provider_id == provider.id)).all():
        offer.status, offer.responded_at = OfferStatus.DECLINED, now  # their choice: not asked again
        session.add(offer)
    request.provider_id, request.assigned_at, request.wave = None, None, 0
    move(session, request, RequestStatus.OFFERING, now=now, actor_id=actor_id, note=reason)
    outbox.request_changed(session, request, event_view(request), extra_users=(dropped_user,))
    # Wave numbering restarts, but every provider offered before stays excluded (already offered).
    open_next_wave(session, request, directory=directory, now=now, actor_id=actor_id)

