"""The next waves of several requests at once (the sweep's batches): shared reads, one statement
per kind of write. The same decisions as server.steps.waves.open_next_wave, request by request."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import bindparam, func, tuple_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from dispatch.lifecycle import OfferStatus, RequestStatus
from dispatch.matching import rank
from dispatch.offers import plan_wave
from models.lists import among
from models.providers import Provider
from models.requests import Offer, ServiceRequest
from models.seniors import Senior
from server.steps import outbox
from server.steps.directory import ProviderDirectory
from server.steps.transitions import move_many_if_still
from server.steps.views import event_view
from server.steps.waves import INSERT_OFFERS, POLICY, SHORT_LIST, NextWave, community_name, offer_view, spec_for

_OFFERS = Offer.__table__
_REQUESTS = ServiceRequest.__table__


@dataclass(frozen=True)
class Due:
    """A request the sweep advances, as read under its lock: its senior and its earlier offers
    (rows with id, provider_id and status)."""

    request: ServiceRequest
    senior: Senior
    prior: Sequence


def plan_next_waves(session: Session, due: list[Due], *, directory: ProviderDirectory,
                    now: datetime) -> list[NextWave]:
    """plan_next_wave for each request (reads only): one read of the short lists' visits per round,
    a second round only for the requests whose short list must widen."""
    offered = [{o.provider_id for o in d.prior if o.status != OfferStatus.WITHDRAWN} for d in due]
    specs = [spec_for(d.request, d.senior) for d in due]
    needed = [POLICY.wave_size(d.request.wave + 1, d.request.priority) for d in due]
    limits = [SHORT_LIST] * len(due)
    # Past the last wave the decision is to escalate whoever is near: no short list to read.
    done: dict[int, tuple[list, dict[int, int]]] = {k: ([], {}) for k, d in enumerate(due)
                                                    if d.request.wave + 1 > POLICY.max_waves}
    todo = [k for k in range(len(due)) if k not in done]
    while todo:
        ids = {k: directory.candidates(due[k].request.service_type, due[k].senior.lat, due[k].senior.lon, now,
                                       limit=limits[k]) for k in todo}
        facts = directory.facts_many(session, [(due[k].senior.id, ids[k]) for k in todo])
        again = []
        for k, fx in zip(todo, facts):
            # Providers asked before are never chosen again: they are not scored (rank scores each
            # provider on its own, so the others' order is the same).
            ranked = rank(specs[k], [p for pid, p in fx.snapshots.items() if pid not in offered[k]], now=now,
                          history=fx.past_visits)
            if len(ids[k]) < limits[k] or len(ranked) >= needed[k]:
                done[k] = (ranked, fx.user_ids)
            else:
                limits[k] *= 4
                again.append(k)
        todo = again
    waves = []
    for k, d in enumerate(due):
        ranked, user_ids = done[k]
        decision = plan_wave(ranked, already_offered=offered[k], wave_number=d.request.wave + 1,
                             priority=d.request.priority, now=now, asap=d.request.asap, policy=POLICY)
        waves.append(NextWave(d.senior, {o.provider_id: o for o in d.prior}, ranked, user_ids, decision))
    return waves


def open_next_waves(session: Session, due: list[Due], *, directory: ProviderDirectory,
                    now: datetime) -> dict[int, str]:
    """Offer each request to its next wave, or escalate it to the center, as open_next_wave does:
    the status changes by the transition table, each UPDATE conditional on the status and wave read
    (a request changed meanwhile is left as it is: "unchanged"). The caller commits. Returns what
    happened to each request, by id."""
    waves = plan_next_waves(session, due, directory=directory, now=now)
    outcome = {d.request.id: "unchanged" for d in due}
    escalating = [(d, w) for d, w in zip(due, waves) if w.decision.escalate]
    offering = [(d, w) for d, w in zip(due, waves) if not w.decision.escalate]
    changes: list[tuple[ServiceRequest, Senior, dict]] = []
    for d in _escalate_all(session, escalating, now=now):
        outcome[d.request.id] = str(RequestStatus.ESCALATED)
        changes.append((d.request, d.senior, event_view(d.request)))
    moved = _next_wave_all(session, offering, now=now)
    _make_offers_all(session, moved, now=now)
    for d, _w in moved:
        outcome[d.request.id] = str(RequestStatus.OFFERING)
        changes.append((d.request, d.senior, event_view(d.request)))
    outbox.requests_changed(session, changes)
    return outcome


def _as_read(pairs) -> object:
    """SQL condition: each request still has the wave it was read with."""
    return tuple_(_REQUESTS.c.id, _REQUESTS.c.wave).in_(sorted((d.request.id, d.request.wave) for d, _w in pairs))


def _by_source(pairs) -> dict[RequestStatus, list]:
    groups: dict[RequestStatus, list] = {}
    for d, w in pairs:
        groups.setdefault(RequestStatus(d.request.status), []).append((d, w))
    return groups


def _escalate_all(session: Session, pairs: list, *, now: datetime) -> list[Due]:
    """Escalate the requests (by status, one UPDATE each) and withdraw any offer of theirs still open."""
    won: set[int] = set()
    for source, group in _by_source(pairs).items():
        won |= move_many_if_still(session, {d.request.id: w.decision.reason for d, w in group}, source,
                                  RequestStatus.ESCALATED, now=now, actor_id=None, where=_as_read(group),
                                  escalated_at=now)
    moved = [d for d, _w in pairs if d.request.id in won]
    for d in moved:
        for name, value in (("status", RequestStatus.ESCALATED), ("updated_at", now), ("escalated_at", now)):
            set_committed_value(d.request, name, value)
    # A stalled request has no open offer, a due one should not either; the offers were read under the lock.
    holding = [d.request.id for d in moved if any(o.status == OfferStatus.OFFERED for o in d.prior)]
    if holding:
        rows = session.execute(update(_OFFERS).where(_OFFERS.c.request_id.in_(holding),
                                                     _OFFERS.c.status == OfferStatus.OFFERED.value)
                               .values(status=OfferStatus.WITHDRAWN.value, responded_at=now)
                               .returning(_OFFERS.c.id, _OFFERS.c.provider_id)).all()
        users = dict(session.execute(select(Provider.id, Provider.user_id)
                                     .where(Provider.id.in_({p for _o, p in rows}))).all()) if rows else {}
        for offer_id, provider_id in sorted(rows):
            outbox.add_user_event(session, users[provider_id], "offer_withdrawn",
                                  {"offer_id": offer_id, "reason": "escalated"})
    return moved


def _next_wave_all(session: Session, pairs: list, *, now: datetime) -> list:
    """Move the requests to their next wave (pending ones to offering, by the table); one UPDATE per
    source status. Returns the (due, wave) pairs that moved, their requests updated."""
    won: set[int] = set()
    fields = dict(wave=_REQUESTS.c.wave + 1, first_offer_at=func.coalesce(_REQUESTS.c.first_offer_at, now))
    for source, group in _by_source(pairs).items():
        if source == RequestStatus.OFFERING:  # the status stays: no transition, no step in the history
            ids = [d.request.id for d, _w in group]
            won |= set(session.execute(update(_REQUESTS).where(among(_REQUESTS.c.id, "ids"), _as_read(group),
                                                                _REQUESTS.c.status == source.value)
                                       .values(updated_at=now, **fields).returning(_REQUESTS.c.id),
                                       {"ids": ids}).scalars())
        else:
            won |= move_many_if_still(session, {d.request.id: w.decision.reason for d, w in group}, source,
                                      RequestStatus.OFFERING, now=now, actor_id=None, where=_as_read(group), **fields)
    moved = [(d, w) for d, w in pairs if d.request.id in won]
    for d, _w in moved:
        r = d.request
        for name, value in (("status", RequestStatus.OFFERING), ("wave", r.wave + 1),
                            ("first_offer_at", r.first_offer_at or now), ("updated_at", now)):
            set_committed_value(r, name, value)
    return moved


_OFFER_FIELDS = ("wave", "status", "score", "distance_km", "created_at", "expires_at", "responded_at", "reasons")
_REOPEN = (update(_OFFERS).where(_OFFERS.c.id == bindparam("offer_id"))
           .values({name: bindparam(f"new_{name}") for name in _OFFER_FIELDS}))


def _make_offers_all(session: Session, moved: list, *, now: datetime) -> None:
    """Write every wave's offers: withdrawn ones re-opened in place (one executemany), new ones in one
    multi-row INSERT; then queue each provider's offer_created."""
    new, reopen, made = [], [], {}
    for d, w in moved:
        by_id = {c.provider_id: c for c in w.ranked}
        for pid in w.decision.provider_ids:
            c = by_id[pid]
            fields = dict(wave=d.request.wave, status=OfferStatus.OFFERED.value, score=round(c.score, 2),
                          distance_km=round(c.distance_km, 2), created_at=now, expires_at=w.decision.expires_at,
                          responded_at=None, reasons=[{**vars(r), "points": round(r.points, 1)} for r in c.reasons])
            if pid in w.prior:  # withdrawn before (never asked to choose): asked again, same row
                reopen.append({"offer_id": w.prior[pid].id, **{f"new_{k}": v for k, v in fields.items()}})
                made[d.request.id, pid] = SimpleNamespace(id=w.prior[pid].id, provider_id=pid, **fields)
            else:
                new.append({"request_id": d.request.id, "provider_id": pid, **fields})
    if reopen:
        session.execute(_REOPEN, reopen)
    # RETURNING order is not guaranteed: ids are matched by (request, provider), one offer each.
    ids = {(rid, pid): oid for rid, pid, oid in INSERT_OFFERS.execute(session, new)} if new else {}
    for row in new:
        made[row["request_id"], row["provider_id"]] = SimpleNamespace(id=ids[row["request_id"], row["provider_id"]],
                                                                      **row)
    for d, w in moved:
        name = community_name(session, d.request.community_id)
        for pid in w.decision.provider_ids:
            offer = made[d.request.id, pid]
            payload = offer_view(offer, d.request, d.senior, name).model_dump(mode="json")
            outbox.add_user_event(session, w.user_ids[pid], "offer_created", {"offer": payload})
