"""Escalated requests offered again, by the scheduler: every escalated request still wanted
(dispatch.reoffers: ASAP ones for 2 h after they were made, scheduled ones until 30 min before
they start) with no offer open goes to the providers who can take it now and were not asked yet.
It stays `escalated` meanwhile, so the center's staff still see it; the first provider to accept
takes it. Providers coming on duty, moving or being verified are offered such requests at once
(server.steps.reoffers.offer_to_arrival, from the providers' use cases).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from models.requests import ServiceRequest
from models.seniors import Senior
from server.cooperate import give_way
from server.steps.directory import ProviderDirectory
from server.steps.reoffers import POLICY, no_open_offer, still_wanted
from server.steps.waves import plan_next_wave, reoffer_wave

SCAN = 200  # escalated requests looked at per call: a tick's work stays bounded
_TURN_EVERY = 16


@dataclass(frozen=True)
class Scan:
    request_ids: list[int]  # requests some provider not yet asked may take now
    next_after: int  # the id to go on from next time (0: start again)


def requests_to_reoffer(*, session: Session, directory: ProviderDirectory, now: datetime, after: int = 0,
                        scan: int = SCAN) -> Scan:
    """Escalated requests still wanted, with no offer open, that someone not yet asked may take now
    (reads only). Looks at `scan` of them past the id `after`, so successive calls go round them all."""
    rows = session.exec(select(ServiceRequest, Senior).join(Senior, Senior.id == ServiceRequest.senior_id)
                        .where(still_wanted(now), no_open_offer(), ServiceRequest.id > after)
                        .order_by(ServiceRequest.id).limit(scan)).all()
    ids = []
    for n, (request, senior) in enumerate(rows, 1):
        if not plan_next_wave(session, request, senior, directory=directory, now=now, wave_number=1).decision.escalate:
            ids.append(request.id)
        if n % _TURN_EVERY == 0:
            give_way()  # a long scan lets other requests run (gevent)
    return Scan(ids, rows[-1][0].id if len(rows) == scan else 0)


def reoffer_request(*, session: Session, request_id: int, directory: ProviderDirectory, now: datetime) -> int:
    """Offer one escalated request again, if still wanted and no offer of it is open; the providers
    are told. Returns how many offers were made."""
    request = session.exec(select(ServiceRequest).where(ServiceRequest.id == request_id, still_wanted(now),
                                                        no_open_offer()).with_for_update()).first()
    if request is None or not POLICY.still_wanted(status=request.status, asap=request.asap,
                                                  created_at=request.created_at,
                                                  scheduled_start=request.scheduled_start, now=now):
        session.rollback()
        return 0
    made = reoffer_wave(session, request, directory=directory, now=now)
    session.commit()
    return len(made)
