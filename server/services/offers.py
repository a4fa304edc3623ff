"""Offers from the provider's side: list, accept (exactly one winner), decline; staff assignment."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from dispatch.catalog import ProviderStatus, Role, ServiceType
from dispatch.lifecycle import VISIT_STATUSES, OfferStatus, RequestStatus, can_transition
from dispatch.offers import wave_finished
from models.accounts import User
from models.places import Community
from models.providers import Provider
from models.requests import Offer, OfferPublic, RequestPublic, ServiceRequest
from models.seniors import Senior
from server.errors import Conflict, NotFound, field_error
from server.steps import audit, outbox
from server.steps.access import desk_request_for, provider_of, require_role
from server.steps.directory import ProviderDirectory
from server.steps.transitions import invalid_transition, move_if_still
from server.steps.views import event_view, public_view
from server.steps.waves import offer_view, open_next_wave, withdraw_open_offers

TAKEN = "offer_taken"
EXPIRED = "offer_expired"


def list_offers(*, session: Session, user: User, now: datetime) -> list[OfferPublic]:
    """The provider's offers still open, soonest expiry first."""
    mine = _my_provider(session, user)
    rows = session.exec(select(Offer, ServiceRequest, Senior, Community.name)
                        .join(ServiceRequest, ServiceRequest.id == Offer.request_id)
                        .join(Senior, Senior.id == ServiceRequest.senior_id)
                        .join(Community, Community.id == ServiceRequest.community_id)
                        .where(Offer.provider_id == mine.id, Offer.status == OfferStatus.OFFERED.value,
                               Offer.expires_at > now)
                        .order_by(Offer.expires_at)).all()
    return [offer_view(o, r, s, name) for o, r, s, name in rows]


def accept_offer(*, session: Session, user: User, offer_id: int, now: datetime) -> RequestPublic:
    """Accept an offer: one conditional UPDATE makes exactly one provider win; the others' offers
    are withdrawn and they are told. 409 offer_taken / offer_expired / provider_busy otherwise."""
    mine = _my_provider(session, user, lock=True)
    offer = session.get(Offer, offer_id)
    if offer is None or offer.provider_id != mine.id:
        raise NotFound()
    if mine.status != ProviderStatus.VERIFIED:
        raise Conflict("账号未通过审核或已被停用 / Your account is not in good standing", code="provider_not_verified")
    if offer.status != OfferStatus.OFFERED:
        raise _gone(offer.status)
    if offer.expires_at <= now:
        raise Conflict("报价已过期 / The offer has expired", code=EXPIRED)
    # An escalated request may be offered again (server.services.reoffers) and is taken the same
    # way. Each attempt is one conditional UPDATE, so of racing accepts exactly one wins.
    if not any(move_if_still(session, offer.request_id, source, RequestStatus.ASSIGNED, now=now, actor_id=user.id,
                             provider_id=mine.id, assigned_at=now)
               for source in (RequestStatus.OFFERING, RequestStatus.ESCALATED)):
        raise Conflict("已被其他服务人员接单 / Another provider took this job", code=TAKEN)
    # Won the request; the offer must still be open too (escalating withdraws the open offers).
    if not session.exec(update(Offer).where(Offer.id == offer.id, Offer.status == OfferStatus.OFFERED.value)
                        .values(status=OfferStatus.ACCEPTED.value, responded_at=now)).rowcount:
        session.rollback()
        raise Conflict("此单已不可接 / This offer is no longer open", code=TAKEN)
    session.refresh(offer)
    request = session.get(ServiceRequest, offer.request_id)
    session.refresh(request)
    senior = session.get(Senior, request.senior_id)
    _check_free(session, mine.id, request)
    withdraw_open_offers(session, request, now=now, reason="taken", keep_offer_id=offer.id)
    outbox.request_changed(session, request, event_view(request))
    session.commit()
    return public_view(request, senior, for_provider_id=mine.id)


def decline_offer(*, session: Session, user: User, offer_id: int, directory: ProviderDirectory,
                  now: datetime) -> OfferPublic:
    """Decline an offer; when nobody of the wave is left to answer, the next wave opens at once."""
    mine = _my_provider(session, user)
    offer = session.get(Offer, offer_id)
    if offer is None or offer.provider_id != mine.id:
        raise NotFound()
    if offer.status != OfferStatus.OFFERED:
        raise _gone(offer.status)
    offer.status, offer.responded_at = OfferStatus.DECLINED, now
    session.add(offer)
    session.flush()
    request = session.get(ServiceRequest, offer.request_id)
    senior = session.get(Senior, request.senior_id)
    statuses = session.exec(select(Offer.status).where(Offer.request_id == request.id)).all()
    if request.status == RequestStatus.OFFERING and wave_finished(statuses):
        open_next_wave(session, request, directory=directory, now=now)
    session.commit()
    return offer_view(offer, request, senior)


def assign_by_staff(*, session: Session, user: User, request_id: int, provider_id: int,
                    now: datetime) -> RequestPublic:
    """Center staff assign a provider by hand (the escalation path): verified, offers the service,
    free at that time; the radius is the staff's call."""
    request, senior = desk_request_for(session=session, user=user, request_id=request_id)
    provider = session.exec(select(Provider).where(Provider.id == provider_id).with_for_update()).first()
    if provider is None:
        raise field_error("provider_id", "未知服务人员 / Unknown provider", code="unknown_provider")
    if provider.status != ProviderStatus.VERIFIED or ServiceType(request.service_type) not in provider.services:
        raise field_error("provider_id", "该服务人员不能承接此服务 / Provider not verified for this service",
                          code="provider_not_eligible")
    if not can_transition(request.status, RequestStatus.ASSIGNED):
        raise invalid_transition(request.status, RequestStatus.ASSIGNED)
    _check_free(session, provider.id, request)
    # Conditional, like a provider's accept: an escalated request may have live offers again, and
    # of the staff and a provider accepting at once exactly one wins.
    if not move_if_still(session, request.id, request.status, RequestStatus.ASSIGNED, now=now, actor_id=user.id,
                         note="assigned_by_staff", provider_id=provider.id, assigned_at=now):
        session.rollback()
        raise Conflict("已被其他服务人员接单 / Another provider took this job", code=TAKEN)
    session.refresh(request)
    withdraw_open_offers(session, request, now=now, reason="assigned_by_staff")
    outbox.request_changed(session, request, event_view(request))
    audit.record(session, user, "request.assign", "request", request.id, provider_id=provider.id)
    session.commit()
    return public_view(request, senior)


def _check_free(session: Session, provider_id: int, request: ServiceRequest) -> None:
    """409 provider_busy when another of the provider's visits overlaps this one."""
    clash = session.exec(select(ServiceRequest.id).where(
        ServiceRequest.provider_id == provider_id, ServiceRequest.id != request.id,
        ServiceRequest.status.in_([s.value for s in VISIT_STATUSES]),
        ServiceRequest.scheduled_start < request.scheduled_end,
        ServiceRequest.scheduled_end > request.scheduled_start)).first()
    if clash is not None:
        session.rollback()
        raise Conflict("与已接的服务时间冲突 / Overlaps a visit you already have", code="provider_busy",
                       details={"request_id": clash})


def _my_provider(session: Session, user: User, *, lock: bool = False) -> Provider:
    require_role(user, Role.PROVIDER)
    mine = provider_of(session, user)
    if mine is None:
        raise Conflict("请先建立服务人员档案 / Create your provider profile first", code="no_provider_profile")
    if lock:  # serialises one provider's accepts, so two overlapping jobs can't both be won
        session.exec(select(Provider.id).where(Provider.id == mine.id).with_for_update()).first()
    return mine


def _gone(status: OfferStatus) -> Conflict:
    if status == OfferStatus.EXPIRED:
        return Conflict("报价已过期 / The offer has expired", code=EXPIRED)
    if status == OfferStatus.ACCEPTED:
        return Conflict("您已接受此单 / You already accepted this offer", code="offer_accepted")
    return Conflict("此单已不可接 / This offer is no longer open", code=TAKEN)
