"""A request's candidates for center staff assigning it by hand: the eligible providers ranked as
dispatch ranks them, then the near ones that are not eligible, with why (dispatch.candidates)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from dispatch.candidates import NEAR_KM, candidate_list
from models.accounts import User
from models.live import CandidateBlock, CandidatePublic, CandidateReason
from models.providers import Provider
from models.seniors import Senior
from server.steps.access import desk_request_for
from server.steps.directory import ProviderDirectory, positioned_near
from server.steps.waves import SHORT_LIST, spec_for

POOL = 2 * SHORT_LIST  # covering providers ranked (dispatch's first short list and more), and near ones read


def request_candidates(*, session: Session, user: User, request_id: int, directory: ProviderDirectory,
                       now: datetime) -> list[CandidatePublic]:
    """At most 20 providers for a request of the staff's communities, best first."""
    request, senior = desk_request_for(session=session, user=user, request_id=request_id)
    # The same short list as dispatch (the directory's covering providers, nearest first) plus the
    # providers placed near the senior whatever their standing, service or radius.
    covering = directory.candidates(request.service_type, senior.lat, senior.lon, now, limit=POOL)
    ids = list(dict.fromkeys(covering + _near(session, senior)))
    facts = directory.facts(session, senior.id, ids)
    listed = candidate_list(spec_for(request, senior), facts.snapshots.values(), now=now,
                            history=facts.past_visits)
    names = dict(session.exec(select(Provider.id, Provider.name)
                              .where(Provider.id.in_([c.provider_id for c in listed]))).all()) if listed else {}
    return [CandidatePublic(
        provider_id=c.provider_id, name=names.get(c.provider_id, ""), distance_km=round(c.distance_km, 2),
        score=None if c.score is None else round(c.score, 2), eligible=c.eligible,
        reasons=[CandidateReason(code=r.code, zh=r.label_zh, en=r.label_en, points=round(r.points, 1))
                 for r in c.reasons],
        blocked=[CandidateBlock(code=b.code, zh=b.label_zh, en=b.label_en) for b in c.blocked]) for c in listed]


def _near(session: Session, senior: Senior) -> list[int]:
    """Ids of up to POOL providers placed (base or on-duty position) near the senior, roughly nearest first."""
    rough = func.abs(Provider.base_lat - senior.lat) + func.abs(Provider.base_lon - senior.lon)
    return list(session.exec(select(Provider.id).where(positioned_near(senior.lat, senior.lon, NEAR_KM))
                             .order_by(rough, Provider.id).limit(POOL)).all())
