"""The dispatch timers, run by the scheduler: expire offers, open next waves, escalate.

Every step is idempotent and reads the clock it is given, so a missed tick is simply caught up
by the next one and tests drive it with a controlled `now`.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists
from sqlmodel import Session, select

from dispatch.lifecycle import OfferStatus, RequestStatus
from models.providers import Provider
from models.requests import Offer, ServiceRequest
from server.steps import outbox
from server.steps.directory import ProviderDirectory
from server.steps.waves import DISPATCH_HORIZON, open_next_wave


def expire_offers(*, session: Session, now: datetime) -> int:
    """Mark offers past their deadline expired and tell their providers."""
    rows = session.exec(select(Offer, Provider.user_id).join(Provider, Provider.id == Offer.provider_id)
                        .where(Offer.status == OfferStatus.OFFERED.value, Offer.expires_at <= now)).all()
    for offer, user_id in rows:
        offer.status, offer.responded_at = OfferStatus.EXPIRED, now
        session.add(offer)
        outbox.add_user_event(session, user_id, "offer_withdrawn", {"offer_id": offer.id, "reason": "expired"})
    session.commit()
    return len(rows)


def requests_to_advance(*, session: Session, now: datetime) -> list[int]:
    """Requests whose wave is over with nobody accepting, and scheduled ones now due for offers."""
    open_offer = exists().where(Offer.request_id == ServiceRequest.id, Offer.status == OfferStatus.OFFERED.value)
    stalled = select(ServiceRequest.id).where(ServiceRequest.status == RequestStatus.OFFERING.value, ~open_offer)
    due = select(ServiceRequest.id).where(ServiceRequest.status == RequestStatus.PENDING.value,
                                          ServiceRequest.scheduled_start <= now + DISPATCH_HORIZON)
    return sorted(set(session.exec(stalled).all()) | set(session.exec(due).all()))


def advance_request(*, session: Session, request_id: int, directory: ProviderDirectory, now: datetime) -> str:
    """Open the next wave for one request (or escalate it), if it still needs one; returns what happened."""
    request = session.exec(select(ServiceRequest).where(ServiceRequest.id == request_id).with_for_update()).first()
    if request is None:
        return "gone"
    waiting = session.exec(select(Offer.id).where(Offer.request_id == request.id,
                                                  Offer.status == OfferStatus.OFFERED.value)).first()
    due = request.status == RequestStatus.PENDING and request.scheduled_start <= now + DISPATCH_HORIZON
    stalled = request.status == RequestStatus.OFFERING and waiting is None
    if not (due or stalled):
        session.rollback()
        return "unchanged"
    open_next_wave(session, request, directory=directory, now=now)
    session.commit()
    return str(request.status)
