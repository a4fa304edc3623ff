"""Finding providers for a request: rank the nearby eligible ones, offer in waves, else escalate."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, select

from dispatch.catalog import CareLevel
from dispatch.lifecycle import OfferStatus, RequestStatus
from dispatch.matching import RequestSpec, ScoredCandidate, rank
from dispatch.offers import WaveDecision, WavePolicy, plan_wave
from dispatch.visits import coarse_area
from models.bulk import JsonInsert
from models.places import Community
from models.providers import Provider
from models.requests import Offer, OfferPublic, ServiceRequest
from models.seniors import Senior
from server.steps import outbox
from server.steps.directory import ProviderDirectory
from server.steps.transitions import INSERT_STEPS, enter, move, record
from server.steps.views import event_view

# A scheduled visit is offered this long before it starts (plans materialise 14 days ahead).
DISPATCH_HORIZON = timedelta(hours=48)
POLICY = WavePolicy()
# Providers ranked per wave: the nearest covering ones (the list widens when too few are eligible).
SHORT_LIST = 32


def is_due(request: ServiceRequest, now: datetime) -> bool:
    """Whether a request should be offered now."""
    return request.asap or request.scheduled_start - now <= DISPATCH_HORIZON


def spec_for(request: ServiceRequest, senior: Senior) -> RequestSpec:
    """The matching domain's view of a request."""
    return RequestSpec(id=request.id, senior_id=senior.id, service_type=request.service_type,
                       lat=senior.lat, lon=senior.lon, start=request.scheduled_start, end=request.scheduled_end,
                       asap=request.asap, care_level=CareLevel(senior.care_level) if senior.care_level else None)


@dataclass(frozen=True)
class NextWave:
    """Who the next wave goes to (or why it escalates), before anything is written."""

    senior: Senior
    prior: dict[int, Offer]  # the request's earlier offers, by provider
    ranked: list[ScoredCandidate]
    user_ids: dict[int, int]  # the account behind each provider ranked
    decision: WaveDecision


def plan_next_wave(session: Session, request: ServiceRequest, senior: Senior, *, directory: ProviderDirectory,
                   now: datetime, wave_number: int | None = None) -> NextWave:
    """Rank the nearby providers not yet asked and choose the next wave (reads only); wave_number
    sizes it (default: the request's next wave)."""
    prior = {} if request.first_offer_at is None else {  # never offered: no offers to look up
        o.provider_id: o for o in session.exec(select(Offer).where(Offer.request_id == request.id)).all()}
    # A withdrawn offer was not the provider's choice (someone else took it, the request was
    # escalated): they may be asked again. Declined, expired and accepted ones are not.
    offered = {pid for pid, o in prior.items() if o.status != OfferStatus.WITHDRAWN}
    wave_number = wave_number or request.wave + 1
    ranked, user_ids = _short_list(session, request, senior, offered, POLICY.wave_size(wave_number, request.priority),
                                   directory=directory, now=now)
    decision = plan_wave(ranked, already_offered=offered, wave_number=wave_number,
                         priority=request.priority, now=now, asap=request.asap, policy=POLICY)
    return NextWave(senior, prior, ranked, user_ids, decision)


def open_next_wave(session: Session, request: ServiceRequest, *, directory: ProviderDirectory,
                   now: datetime, actor_id: int | None = None) -> list[int]:
    """Offer the request to the next wave of ranked providers, or escalate it to the center.

    Writes offers and their events; the caller commits. Returns the ids of the offers made.
    """
    senior = session.get(Senior, request.senior_id)
    wave = plan_next_wave(session, request, senior, directory=directory, now=now)
    if wave.decision.escalate:
        escalate(session, request, now=now, reason=wave.decision.reason, actor_id=actor_id)
        return []
    if request.status != RequestStatus.OFFERING:
        move(session, request, RequestStatus.OFFERING, now=now, actor_id=actor_id, note=wave.decision.reason)
    _next_wave_fields(request, now)
    session.add(request)
    return _make_offers(session, request, wave, now)


def reoffer_wave(session: Session, request: ServiceRequest, *, directory: ProviderDirectory,
                 now: datetime) -> list[int]:
    """Offer an escalated request again to the best providers not yet asked (a first wave's worth);
    it stays escalated, so the center's staff still see it. Nobody new: nothing is written. The
    caller commits; returns the ids of the offers made."""
    senior = session.get(Senior, request.senior_id)
    wave = plan_next_wave(session, request, senior, directory=directory, now=now, wave_number=1)
    if wave.decision.escalate:
        return []
    _next_wave_fields(request, now)
    session.add(request)
    return _make_offers(session, request, wave, now)


def offer_to_one(session: Session, request: ServiceRequest, senior: Senior, candidate: ScoredCandidate,
                 user_id: int, *, now: datetime) -> int:
    """Offer a request to one more provider, ranked on their own (one who just became available),
    beside any offers still open; the status stays. The caller commits; returns the offer's id."""
    prior = {o.provider_id: o for o in session.exec(select(Offer).where(
        Offer.request_id == request.id, Offer.provider_id == candidate.provider_id)).all()}
    decision = WaveDecision((candidate.provider_id,), now + POLICY.ttl(request.priority, request.asap), False,
                            "arrival")
    _next_wave_fields(request, now)
    session.add(request)
    wave = NextWave(senior, prior, [candidate], {candidate.provider_id: user_id}, decision)
    return _make_offers(session, request, wave, now)[0]


def offer_new_request(session: Session, request: ServiceRequest, senior: Senior, *,
                      directory: ProviderDirectory, now: datetime, actor_id: int) -> None:
    """Insert a new, due request and offer it to its first wave (or escalate it); the caller commits.

    The booking's hot path: the request is inserted already offering (one INSERT, no UPDATE after),
    then its two history steps (made, offered)."""
    wave = plan_next_wave(session, request, senior, directory=directory, now=now)
    if not wave.decision.escalate:
        enter(request, RequestStatus.OFFERING)
        _next_wave_fields(request, now)
    _insert(session, request)
    if wave.decision.escalate:
        record(session, request.id, None, RequestStatus.PENDING, now=now, actor_id=actor_id)
        escalate(session, request, now=now, reason=wave.decision.reason, actor_id=actor_id)
        return
    # Both steps in one statement (made, offered): a round trip less on PostgreSQL.
    INSERT_STEPS.execute(session, [
        {"request_id": request.id, "at": now, "actor_id": actor_id, "from_status": None,
         "to_status": str(RequestStatus.PENDING), "note": None},
        {"request_id": request.id, "at": now, "actor_id": actor_id, "from_status": str(RequestStatus.PENDING),
         "to_status": str(RequestStatus.OFFERING), "note": wave.decision.reason}])
    _make_offers(session, request, wave, now)


_REQUESTS = ServiceRequest.__table__
_INSERT_REQUEST = insert(_REQUESTS).returning(_REQUESTS.c.id)


def _insert(session: Session, request: ServiceRequest) -> None:
    """INSERT a new request on the table, then attach it to the session as already persistent: the
    ORM's unit of work would cost more than the rest of the insert (later changes still UPDATE it)."""
    values = {c.name: getattr(request, c.name) for c in _REQUESTS.columns if c.name != "id"}
    request.id = session.execute(_INSERT_REQUEST, values).scalar_one()
    make_transient_to_detached(request)
    session.add(request)


def _next_wave_fields(request: ServiceRequest, now: datetime) -> None:
    request.wave += 1
    request.first_offer_at = request.first_offer_at or now
    request.updated_at = now


def _make_offers(session: Session, request: ServiceRequest, wave: NextWave, now: datetime) -> list[int]:
    """Write the wave's offers (the request is in the database) and queue their events."""
    by_id = {c.provider_id: c for c in wave.ranked}
    fields = {pid: dict(wave=request.wave, status=OfferStatus.OFFERED, score=round(by_id[pid].score, 2),
                        distance_km=round(by_id[pid].distance_km, 2), created_at=now,
                        expires_at=wave.decision.expires_at, responded_at=None,
                        reasons=[{**vars(r), "points": round(r.points, 1)} for r in by_id[pid].reasons])
              for pid in wave.decision.provider_ids}
    offers = _write_offers(session, request, fields, wave.prior)
    _announce_offers(session, request, wave.senior, offers, wave.user_ids)
    return [o.id for o in offers]


# New offers, one short statement whatever their number (models.bulk).
INSERT_OFFERS = JsonInsert(Offer.__table__, ("request_id", "provider_id", "wave", "status", "score", "distance_km",
                                             "created_at", "expires_at", "responded_at", "reasons"),
                           returning=("request_id", "provider_id", "id"))


def _write_offers(session: Session, request: ServiceRequest, fields: dict[int, dict],
                  prior: dict[int, Offer]) -> list[SimpleNamespace]:
    """Re-open withdrawn offers in place and insert the new ones in one statement (the booking's hot path)."""
    for pid in fields.keys() & prior.keys():
        prior[pid].sqlmodel_update(fields[pid])
        session.add(prior[pid])
    new = [{"request_id": request.id, "provider_id": pid, **f} for pid, f in fields.items() if pid not in prior]
    # One INSERT on the table; RETURNING order is not guaranteed, so ids are matched by provider (one
    # offer per provider and request).
    ids = {pid: oid for _rid, pid, oid in INSERT_OFFERS.execute(session, new)} if new else {}
    made = {row["provider_id"]: SimpleNamespace(id=ids[row["provider_id"]], **row) for row in new}
    made.update({pid: prior[pid] for pid in fields.keys() & prior.keys()})
    return [made[pid] for pid in fields]


def _short_list(session: Session, request: ServiceRequest, senior: Senior, offered: set[int], needed: int, *,
                directory: ProviderDirectory, now: datetime) -> tuple[list, dict[int, int]]:
    """Rank the nearest covering providers; widen the list while fewer than `needed` new eligible
    ones remain. Returns the ranking and the account behind each provider ranked."""
    spec = spec_for(request, senior)
    limit = SHORT_LIST
    while True:
        ids = directory.candidates(request.service_type, senior.lat, senior.lon, now, limit=limit)
        facts = directory.facts(session, senior.id, ids)
        ranked = rank(spec, facts.snapshots.values(), now=now, history=facts.past_visits)
        if len(ids) < limit or sum(c.provider_id not in offered for c in ranked) >= needed:
            return ranked, facts.user_ids
        limit *= 4


_COMMUNITY_NAME = select(Community.__table__.c.name).where(Community.__table__.c.id == bindparam("id"))


# Community names, as offers show them, kept a minute per process: a statement less per wave.
_NAMES: WeakKeyDictionary[Engine, dict[int | None, tuple[float, str | None]]] = WeakKeyDictionary()
NAME_TTL_S = 60.0


def community_name(session: Session, community_id: int | None) -> str | None:
    """A community's name (a rename shows in offers within NAME_TTL_S)."""
    bind = session.get_bind()
    names = _NAMES.setdefault(getattr(bind, "engine", bind), {})
    hit = names.get(community_id)
    if hit is not None and time.monotonic() - hit[0] < NAME_TTL_S:
        return hit[1]
    name = session.execute(_COMMUNITY_NAME, {"id": community_id}).scalar()
    names[community_id] = (time.monotonic(), name)
    return name


def _announce_offers(session: Session, request: ServiceRequest, senior: Senior, offers: list,
                     users: dict[int, int]) -> None:
    community_name_ = community_name(session, request.community_id)
    for offer in offers:
        payload = offer_view(offer, request, senior, community_name_).model_dump(mode="json")
        outbox.add_user_event(session, users[offer.provider_id], "offer_created", {"offer": payload})
    outbox.request_changed(session, request, event_view(request))


def escalate(session: Session, request: ServiceRequest, *, now: datetime, reason: str,
             actor_id: int | None = None) -> None:
    """Hand the request to the community's staff (status escalated); its open offers are withdrawn."""
    withdraw_open_offers(session, request, now=now, reason="escalated")
    move(session, request, RequestStatus.ESCALATED, now=now, actor_id=actor_id, note=reason)
    request.escalated_at = now
    session.add(request)
    outbox.request_changed(session, request, event_view(request))


def withdraw_open_offers(session: Session, request: ServiceRequest, *, now: datetime, reason: str,
                         keep_offer_id: int | None = None) -> None:
    """Withdraw every offer of request still waiting, telling each provider why."""
    rows = session.exec(select(Offer, Provider.user_id).join(Provider, Provider.id == Offer.provider_id)
                        .where(Offer.request_id == request.id, Offer.status == OfferStatus.OFFERED.value)).all()
    for offer, user_id in rows:
        if offer.id == keep_offer_id:
            continue
        offer.status = OfferStatus.WITHDRAWN
        offer.responded_at = now
        session.add(offer)
        outbox.add_user_event(session, user_id, "offer_withdrawn", {"offer_id": offer.id, "reason": reason})


def offer_view(offer: Offer, request: ServiceRequest, senior: Senior, community_name: str | None = None) -> OfferPublic:
    """An offer as the provider sees it before accepting: distance and a ~1 km area, no address."""
    lat, lon = coarse_area(senior.lat, senior.lon)
    return OfferPublic(id=offer.id, request_id=request.id, service_type=request.service_type, status=offer.status,
                       distance_km=offer.distance_km, expires_at=offer.expires_at,
                       scheduled_start=request.scheduled_start, duration_minutes=request.duration_minutes,
                       area={"lat": lat, "lon": lon, "community": community_name}, reasons=offer.reasons)
