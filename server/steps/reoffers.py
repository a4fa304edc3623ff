"""Escalated requests offered again (dispatch.reoffers says which and to whom): the query for the
ones still wanted, and the offers for a provider who has just become available. Never commits."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, or_
from sqlmodel import Session, select

from dispatch.catalog import ProviderStatus
from dispatch.geo import bounding_box
from dispatch.lifecycle import VISIT_STATUSES, OfferStatus, RequestStatus
from dispatch.matching import position_of
from dispatch.reoffers import ReofferPolicy, choose_for_arrival
from models.providers import Provider
from models.requests import Offer, ServiceRequest
from models.seniors import Senior
from server.steps.directory import snapshot
from server.steps.waves import offer_to_one, spec_for

POLICY = ReofferPolicy()


def still_wanted(now: datetime):
    """SQL condition: the request is escalated and still worth offering again (ReofferPolicy)."""
    made_after, starting_after = POLICY.cutoffs(now)
    return and_(ServiceRequest.status == RequestStatus.ESCALATED.value,
                or_(and_(ServiceRequest.asap.is_(True), ServiceRequest.created_at > made_after),
                    and_(ServiceRequest.asap.is_(False), ServiceRequest.scheduled_start > starting_after)))


def no_open_offer():
    """SQL condition: no offer of the request is waiting for an answer."""
    return ~exists().where(Offer.request_id == ServiceRequest.id, Offer.status == OfferStatus.OFFERED.value)


def offer_to_arrival(session: Session, provider: Provider, *, now: datetime) -> list[int]:
    """Offer a provider who has just come on duty, moved or been verified the escalated requests
    still wanted that they may take (a few, nearest first); the providers are told. Returns the
    offers' ids; the caller commits."""
    if provider.status != ProviderStatus.VERIFIED:
        return []
    busy = session.exec(select(ServiceRequest.scheduled_start, ServiceRequest.scheduled_end).where(
        ServiceRequest.provider_id == provider.id,
        ServiceRequest.status.in_([s.value for s in VISIT_STATUSES]))).all()
    me = snapshot(provider, [tuple(b) for b in busy])
    south, north, west, east = bounding_box(*position_of(me, now), provider.service_radius_km)
    # Locks the requests it may offer; one another use case holds is left to the periodic retry.
    rows = session.exec(select(ServiceRequest, Senior).join(Senior, Senior.id == ServiceRequest.senior_id)
                        .where(still_wanted(now), ServiceRequest.service_type.in_(list(provider.services)),
                               Senior.lat.between(south, north), Senior.lon.between(west, east))
                        .order_by(ServiceRequest.id)
                        .with_for_update(of=ServiceRequest, skip_locked=True)).all()
    if not rows:
        return []
    # Their own choice (declined, let expire, dropped out) or open already: not offered again.
    refused = set(session.exec(select(Offer.request_id).where(
        Offer.provider_id == provider.id, Offer.request_id.in_([r.id for r, _ in rows]),
        Offer.status != OfferStatus.WITHDRAWN.value)).all())
    by_id = {r.id: (r, s) for r, s in rows}
    chosen = choose_for_arrival(me, [spec_for(r, s) for r, s in rows], refused=refused, now=now, policy=POLICY)
    return [offer_to_one(session, *by_id[a.request_id], a.candidate, provider.user_id, now=now) for a in chosen]
