"""The dispatch timers, run by the scheduler: expire offers, open next waves, escalate.

Every step is idempotent and reads the clock it is given, so a missed tick is simply caught up
by the next one and tests drive it with a controlled `now`.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, update
from sqlmodel import Session, select

from dispatch.lifecycle import OfferStatus, RequestStatus, SosStatus
from models.providers import Provider
from models.requests import Offer, ServiceRequest
from models.sos import SosAlert
from server.steps import outbox
from server.steps.directory import ProviderDirectory
from server.steps.waves import DISPATCH_HORIZON, open_next_wave

# A tick's work is bounded: expire at most this many offers and advance at most this many requests,
# the oldest first; the next tick goes on with the rest (ticks never overlap, so none is skipped).
EXPIRE_PER_TICK = 5000
ADVANCE_PER_TICK = 300

_OFFERS = Offer.__table__
_PROVIDERS = Provider.__table__
_REQUESTS = ServiceRequest.__table__
_SOS = SosAlert.__table__


def tick_work(*, session: Session, now: datetime) -> tuple[bool, bool]:
    """(any offer past its deadline, any SOS alert open): read first, so that a quiet tick opens no
    write transaction (each one waits for the writer lock and commits) for work there is not."""
    due = select(_OFFERS.c.id).where(_OFFERS.c.status == OfferStatus.OFFERED.value, _OFFERS.c.expires_at <= now)
    sos = select(_SOS.c.id).where(_SOS.c.status == SosStatus.OPEN.value)
    return (session.execute(due.limit(1)).first() is not None, session.execute(sos.limit(1)).first() is not None)


def expire_offers(*, session: Session, now: datetime, limit: int = EXPIRE_PER_TICK) -> int:
    """Mark offers past their deadline expired (the `limit` oldest deadlines) and tell their providers.

    One UPDATE … RETURNING and one read of the providers' accounts, whatever the number of offers."""
    due = (select(_OFFERS.c.id).where(_OFFERS.c.status == OfferStatus.OFFERED.value, _OFFERS.c.expires_at <= now)
           .order_by(_OFFERS.c.expires_at).limit(limit))
    rows = session.execute(update(Offer.__table__).where(_OFFERS.c.id.in_(due.scalar_subquery()),
                                                          _OFFERS.c.status == OfferStatus.OFFERED.value)
                           .values(status=OfferStatus.EXPIRED, responded_at=now)
                           .returning(_OFFERS.c.id, _OFFERS.c.provider_id)).all()
    users = dict(session.execute(select(_PROVIDERS.c.id, _PROVIDERS.c.user_id)
                                 .where(_PROVIDERS.c.id.in_({p for _, p in rows}))).all()) if rows else {}
    for offer_id, provider_id in sorted(rows):
        outbox.add_user_event(session, users[provider_id], "offer_withdrawn", {"offer_id": offer_id, "reason": "expired"})
    session.commit()
    return len(rows)


def requests_to_advance(*, session: Session, now: datetime, limit: int | None = None) -> list[int]:
    """Requests whose wave is over with nobody accepting, and scheduled ones now due for offers:
    the `limit` oldest (by id) when given."""
    open_offer = exists().where(_OFFERS.c.request_id == _REQUESTS.c.id,
                                _OFFERS.c.status == OfferStatus.OFFERED.value)
    stalled = select(_REQUESTS.c.id).where(_REQUESTS.c.status == RequestStatus.OFFERING.value, ~open_offer)
    due = select(_REQUESTS.c.id).where(_REQUESTS.c.status == RequestStatus.PENDING.value,
                                       _REQUESTS.c.scheduled_start <= now + DISPATCH_HORIZON)
    if limit is None:
        return sorted(set(session.execute(stalled).scalars()) | set(session.execute(due).scalars()))
    ids = set(session.execute(stalled.order_by(_REQUESTS.c.id).limit(limit)).scalars())
    ids |= set(session.execute(due.order_by(_REQUESTS.c.id).limit(limit)).scalars())
    return sorted(ids)[:limit]


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
