"""The dispatch timers, run by the scheduler: expire offers, open next waves, escalate.

Every step is idempotent and reads the clock it is given, so a missed tick is simply caught up
by the next one and tests drive it with a controlled `now`.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, update
from sqlmodel import Session, select

from dispatch.lifecycle import OfferStatus, RequestStatus, SosStatus
from models.lists import among
from models.providers import Provider
from models.requests import Offer, ServiceRequest
from models.seniors import Senior
from models.sos import SosAlert
from server.steps import outbox
from server.steps.directory import ProviderDirectory
from server.steps.wave_batches import Due, open_next_waves
from server.steps.waves import DISPATCH_HORIZON

# A tick's work is bounded: expire at most this many offers and advance at most this many requests,
# the oldest first; the next tick goes on with the rest (ticks never overlap, so none is skipped).
EXPIRE_PER_TICK = 5000
ADVANCE_PER_TICK = 1500
# Requests advanced in one transaction: their reads and writes are shared (a few ms each instead of
# a dozen statements each), and a batch holds its rows' locks for a fraction of a second.
ADVANCE_BATCH = 50
_ADVANCEABLE = (RequestStatus.OFFERING.value, RequestStatus.PENDING.value)

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


# A batch's reads, the same SQL for any batch (models.lists).
_LOCK_DUE = (select(ServiceRequest).where(among(ServiceRequest.id, "ids"), ServiceRequest.status.in_(_ADVANCEABLE))
             .order_by(ServiceRequest.id).with_for_update(skip_locked=True)
             .execution_options(populate_existing=True))
_PRIOR_OFFERS = select(_OFFERS.c.request_id, _OFFERS.c.id, _OFFERS.c.provider_id,
                       _OFFERS.c.status).where(among(_OFFERS.c.request_id, "ids"))
_SENIORS = select(Senior).where(among(Senior.id, "ids"))


def advance_requests(*, session: Session, request_ids: list[int], directory: ProviderDirectory,
                     now: datetime) -> dict[int, str]:
    """Open the next wave (or escalate) for each of several requests that still need one, in one
    transaction: one read each of the requests, their offers and their seniors, then one statement
    per kind of write (server.steps.wave_batches). Returns what happened to each request, by id:
    its new status, "unchanged" (no longer due or stalled), or "skipped" (gone, no longer offering
    or pending, locked by another transaction such as an accept or a cancel, or past the first
    ADVANCE_BATCH ids: left for the next tick).

    The requests are locked first (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's write transaction
    holds the database), and every write is conditional on the status and wave read under the lock."""
    outcome = {rid: "skipped" for rid in request_ids}
    ids = sorted(outcome)[:ADVANCE_BATCH]
    # populate_existing: the rows as locked, whatever this session read of them before.
    requests = session.exec(_LOCK_DUE, params={"ids": ids}).all()
    prior: dict[int, list] = {r.id: [] for r in requests}
    if requests:
        for row in session.execute(_PRIOR_OFFERS, {"ids": list(prior)}):
            prior[row.request_id].append(row)
    due = []
    for r in requests:
        waiting = any(o.status == OfferStatus.OFFERED for o in prior[r.id])
        if (r.status == RequestStatus.PENDING and r.scheduled_start <= now + DISPATCH_HORIZON) or \
                (r.status == RequestStatus.OFFERING and not waiting):
            due.append(r)
        else:
            outcome[r.id] = "unchanged"
    if not due:
        session.rollback()
        return outcome
    seniors = {s.id: s for s in session.exec(_SENIORS, params={"ids": sorted({r.senior_id for r in due})})}
    outcome.update(open_next_waves(session, [Due(r, seniors[r.senior_id], prior[r.id]) for r in due],
                                   directory=directory, now=now))
    session.commit()
    return outcome


def advance_request(*, session: Session, request_id: int, directory: ProviderDirectory, now: datetime) -> str:
    """Open the next wave for one request (or escalate it), if it still needs one; returns what
    happened (advance_requests for one)."""
    return advance_requests(session=session, request_ids=[request_id], directory=directory, now=now)[request_id]
