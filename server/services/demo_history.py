"""A month of demo history: past visits, SOS alerts and complaints, so that the center console's
statistics, subsidies, complaints and the providers' ratings show figures right after `make run`.

Everything here ended before `now`: visits completed (most with check-in and check-out at the
senior's door, a few flagged for a check-out far away or a check-in outside 500 m), cancelled or
escalated and then assigned by staff; SOS alerts acknowledged by the community's staff and resolved;
complaints open, upheld and dismissed. Nothing is left active, so no provider is busy and dispatch
for the demo logins is as before. Seniors 1-50 (the README's walk books for senior 1) get no
history, so no past visit changes who is offered their bookings first. Rows are written directly
(no outbox events: nobody is told of the past); the same seed gives the same history, dated
from the day of seeding.
"""
from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from sqlmodel import Session, select

from dispatch.catalog import ProviderStatus, ServiceType
from dispatch.geo import great_circle_km
from dispatch.lifecycle import ComplaintStatus, RequestStatus, SosStatus
from dispatch.visits import CHECKIN_THRESHOLD_M
from models.accounts import StaffCommunity
from models.complaints import Complaint, ComplaintCategory
from models.providers import Provider
from models.requests import Rating, ServiceRequest
from models.seniors import FamilyLink, Senior
from models.sos import SosAck, SosAlert

DAYS = 30
VISITS_A_DAY = 24
QUIET_SENIORS = 50  # seniors 1-50: no history (see the module's docstring)
_COMMENTS = ("师傅很细心", "准时到，很满意", "饭菜热乎", "打扫得很干净", "态度好", None, None)


def seed_history(*, session: Session, seed: int, now: datetime) -> int:
    """Write the month before now; returns how many visits were written."""
    rng = random.Random(seed * 7919 + 1)
    seniors = [s for s in session.exec(select(Senior).order_by(Senior.id)).all()][QUIET_SENIORS:]
    providers = session.exec(select(Provider).where(Provider.status == ProviderStatus.VERIFIED)
                             .order_by(Provider.id)).all()
    staff = {row.community_id: row.user_id for row in session.exec(select(StaffCommunity)).all()}
    family = {link.senior_id: link.user_id for link in session.exec(select(FamilyLink)).all()}
    if not seniors or not providers or not staff:
        return 0
    written = []
    # Days 30 to 3 before now: a visit booked then for up to 2 days and 7 hours ahead has ended by
    # now, so none is dropped for ending in the future and the history (its ids too) is the same
    # whatever the hour of seeding.
    for day in range(DAYS, 2, -1):
        for _ in range(VISITS_A_DAY):
            senior = rng.choice(seniors)
            visit = _visit(rng, senior, rng.choice(list(ServiceType)), providers, staff, family,
                           now - timedelta(days=day), now)
            if visit is not None:
                session.add(visit)
                written.append(visit)
    session.flush()
    _ratings(session, rng, written, family, providers)
    _complaints(session, rng, written, family, staff, now)
    _sos(session, rng, seniors, family, staff, now)
    return len(written)


def _nearest(senior: Senior, service: ServiceType, providers) -> tuple[Provider | None, bool]:
    """The nearest verified provider offering service, and whether its radius covers the senior."""
    best, best_km = None, math.inf
    for p in providers:
        if service.value in p.services:
            km = great_circle_km(senior.lat, senior.lon, p.base_lat, p.base_lon)
            if km < best_km:
                best, best_km = p, km
    return (best, best is not None and best_km <= best.service_radius_km) if best_km <= 25 else (None, False)


def _visit(rng, senior, service, providers, staff, family, day: datetime, now: datetime) -> ServiceRequest | None:
    provider, covered = _nearest(senior, service, providers)
    booker = family.get(senior.id) or senior.user_id or staff.get(senior.community_id)
    if provider is None or booker is None:
        return None
    created = day.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(hours=rng.uniform(-1, 11))
    asap = rng.random() < 0.6
    start = created if asap else created + timedelta(days=rng.randint(1, 2), hours=rng.choice((1, 3, 7)))
    offered = created + timedelta(seconds=2) if asap else max(created, start - timedelta(hours=48))
    v = ServiceRequest(senior_id=senior.id, community_id=senior.community_id, service_type=service, asap=asap,
                       scheduled_start=start, scheduled_end=start + timedelta(minutes=60), duration_minutes=60,
                       created_by=booker, created_at=created, updated_at=created, first_offer_at=offered, wave=1,
                       channel="app" if booker != staff.get(senior.community_id) else "hotline")
    if rng.random() < 0.05:  # cancelled by the senior's side before anyone came
        v.status, v.cancelled_at = RequestStatus.CANCELLED, offered + timedelta(minutes=rng.uniform(2, 20))
        v.cancel_reason, v.updated_at = "长辈临时有事 / plans changed", v.cancelled_at
        return v if v.cancelled_at < now else None
    accepted = offered + timedelta(minutes=min(30.0, rng.lognormvariate(math.log(3), 0.7)))
    if not covered or rng.random() < 0.04:  # nobody took it: escalated, then assigned by staff
        v.escalated_at = offered + timedelta(minutes=4.5)
        accepted = v.escalated_at + timedelta(minutes=rng.uniform(5, 25))
    arrived = (accepted + timedelta(minutes=rng.uniform(8, 40)) if asap
               else start + timedelta(minutes=rng.uniform(-5, 15)))
    left = arrived + timedelta(minutes=rng.uniform(40, 75))
    if left >= now:
        return None
    v.provider_id, v.assigned_at, v.status = provider.id, accepted, RequestStatus.COMPLETED
    _check(v, rng, senior, arrived, left)
    v.completed_at = v.updated_at = left
    return v


def _offset(rng, lat: float, lon: float, metres: float) -> tuple[float, float]:
    bearing = rng.uniform(0, 2 * math.pi)
    return (lat + metres * math.cos(bearing) / 111_320,
            lon + metres * math.sin(bearing) / (111_320 * math.cos(math.radians(lat))))


def _check(v: ServiceRequest, rng, senior: Senior, arrived: datetime, left: datetime) -> None:
    """Check-in and check-out points: at the door, or (a few) far from it."""
    luck = rng.random()
    v.checkin_lat, v.checkin_lon = _offset(rng, senior.lat, senior.lon, 700 if luck < 0.02 else rng.uniform(10, 120))
    v.checkout_lat, v.checkout_lon = _offset(rng, senior.lat, senior.lon,
                                             rng.uniform(1200, 2500) if 0.02 <= luck < 0.07 else rng.uniform(10, 120))
    v.checkin_distance_m = great_circle_km(senior.lat, senior.lon, v.checkin_lat, v.checkin_lon) * 1000
    v.checkin_flagged = v.checkin_distance_m > CHECKIN_THRESHOLD_M
    v.checkin_at, v.checkout_at = arrived, left


def _ratings(session: Session, rng, visits, family, providers) -> None:
    by_id = {p.id: p for p in providers}
    for v in visits:
        rater = family.get(v.senior_id)
        if v.status != RequestStatus.COMPLETED or rater is None or rng.random() > 0.7:
            continue
        stars = rng.choices((5, 4, 3, 2), (60, 28, 9, 3))[0]
        session.add(Rating(request_id=v.id, provider_id=v.provider_id, stars=stars, comment=rng.choice(_COMMENTS),
                           created_by=rater, created_at=v.completed_at + timedelta(minutes=rng.uniform(5, 300))))
        provider = by_id[v.provider_id]
        provider.rating_sum, provider.rating_count = provider.rating_sum + stars, provider.rating_count + 1
        session.add(provider)


_COMPLAINTS = ((ComplaintCategory.LATE, "说好九点，十点半才到 / came 90 minutes late", None),
               (ComplaintCategory.QUALITY, "饭菜是凉的 / the meal was cold", True),
               (ComplaintCategory.RUDE, "说话不耐烦 / impatient with my mother", False))


def _complaints(session: Session, rng, visits, family, staff, now: datetime) -> None:
    """One open, one upheld and one dismissed complaint, filed by family on completed visits."""
    eligible = [v for v in visits if v.status == RequestStatus.COMPLETED and v.senior_id in family
                and v.community_id in staff]
    for (category, text, upheld), v in zip(_COMPLAINTS, rng.sample(eligible, min(3, len(eligible))), strict=False):
        filed = v.completed_at + timedelta(hours=rng.uniform(1, 20))
        c = Complaint(request_id=v.id, provider_id=v.provider_id, senior_id=v.senior_id, community_id=v.community_id,
                      filed_by=family[v.senior_id], category=category, text=text, created_at=min(filed, now))
        if upheld is not None:
            c.status, c.upheld, c.resolved_by = ComplaintStatus.RESOLVED, upheld, staff[v.community_id]
            c.resolution = ("已核实，扣信用分 / confirmed" if upheld
                            else "经回访，未发现问题 / not confirmed on follow-up")
            c.resolved_at = min(c.created_at + timedelta(days=1), now)
        session.add(c)


def _sos(session: Session, rng, seniors, family, staff, now: datetime) -> None:
    """A few SOS alerts raised by family, acknowledged by the community's staff, resolved."""
    raisers = [s for s in seniors if s.id in family and s.community_id in staff]
    for senior in rng.sample(raisers, min(6, len(raisers))):
        opened = now - timedelta(days=rng.uniform(1, DAYS), minutes=rng.uniform(0, 600))
        acked = opened + timedelta(seconds=rng.uniform(30, 400))
        alert = SosAlert(senior_id=senior.id, community_id=senior.community_id, status=SosStatus.RESOLVED,
                         lat=senior.lat, lon=senior.lon, located_by="home", opened_by=family[senior.id],
                         opened_at=opened, acked_by=staff[senior.community_id], acked_at=acked,
                         resolved_by=staff[senior.community_id],
                         resolved_at=acked + timedelta(minutes=rng.uniform(8, 40)),
                         note="已上门查看，老人无大碍 / visited: the senior is fine")
        session.add(alert)
        session.flush()
        session.add(SosAck(sos_id=alert.id, user_id=staff[senior.community_id], role="center_staff", at=acked))
