"""Dispatch services on SQLite and PostgreSQL with a controlled clock: waves, expiry, escalation, SOS."""
from datetime import timedelta

import pytest
from sqlmodel import func, select

from dispatch.catalog import Role
from dispatch.lifecycle import OfferStatus, RequestStatus
from models.accounts import User
from models.events import Event
from models.requests import Offer, RequestCreate, RequestHistory, ServiceRequest
from models.sos import SosCreate
from models.types import utcnow
from server.services import offers, requests, sos, sweeper
from server.steps.directory import ProviderDirectory
from tests import factories as f


@pytest.fixture
def world(db_session):
    com = f.first_community(db_session)
    owner = f.user(db_session, Role.SENIOR)
    senior = f.senior(db_session, com, owner=owner)
    providers = [f.on_duty_provider(db_session, com, km_east=0.2 * (i + 1)) for i in range(10)]
    db_session.commit()
    return {"session": db_session, "owner": owner, "senior": senior, "providers": providers, "community": com,
            "directory": ProviderDirectory(db_session.get_bind()), "t0": utcnow()}


def _book(w, now, service_type="meal", **extra):
    data = RequestCreate(senior_id=w["senior"].id, service_type=service_type, **extra)
    return requests.create_request(session=w["session"], user=w["owner"], data=data, directory=w["directory"], now=now)


def _tick(w, now):
    """One sweeper pass at `now`, as the scheduled job runs it."""
    s = w["session"]
    sweeper.expire_offers(session=s, now=now)
    for request_id in sweeper.requests_to_advance(session=s, now=now):
        sweeper.advance_request(session=s, request_id=request_id, directory=w["directory"], now=now)


def _offers_by_wave(s, request_id):
    rows = s.exec(select(Offer).where(Offer.request_id == request_id).order_by(Offer.id)).all()
    waves: dict[int, list] = {}
    for o in rows:
        waves.setdefault(o.wave, []).append(o)
    return waves


def test_waves_widen_then_escalate_to_the_center(world):
    s, t0 = world["session"], world["t0"]
    rid = _book(world, t0).id
    assert [len(v) for v in _offers_by_wave(s, rid).values()] == [3]
    _tick(world, t0 + timedelta(seconds=60))  # nothing expired yet
    assert [len(v) for v in _offers_by_wave(s, rid).values()] == [3]
    _tick(world, t0 + timedelta(seconds=91))
    waves = _offers_by_wave(s, rid)
    assert [len(v) for v in waves.values()] == [3, 6]
    assert {o.status for o in waves[1]} == {OfferStatus.EXPIRED}
    nearest_first = [p.id for p in world["providers"]]
    assert [o.provider_id for o in waves[1]] == nearest_first[:3]
    assert [o.provider_id for o in waves[2]] == nearest_first[3:9]
    _tick(world, t0 + timedelta(seconds=182))
    assert [len(v) for v in _offers_by_wave(s, rid).values()] == [3, 6, 1]
    _tick(world, t0 + timedelta(seconds=273))
    request = s.get(ServiceRequest, rid)
    assert request.status == RequestStatus.ESCALATED and request.escalated_at is not None
    staff_events = s.exec(select(Event).where(Event.community_id == world["community"].id,
                                              Event.type == "request_updated")).all()
    assert staff_events[-1].payload["request"]["status"] == "escalated"
    _tick(world, t0 + timedelta(seconds=400))  # escalated requests stay with the staff
    assert s.get(ServiceRequest, rid).status == RequestStatus.ESCALATED


def test_when_the_whole_wave_declines_the_next_opens_at_once(world):
    s, t0 = world["session"], world["t0"]
    rid = _book(world, t0).id
    for offer in _offers_by_wave(s, rid)[1]:
        provider = next(p for p in world["providers"] if p.id == offer.provider_id)
        user = s.get(type(world["owner"]), provider.user_id)
        offers.decline_offer(session=s, user=user, offer_id=offer.id, directory=world["directory"], now=t0)
    assert [len(v) for v in _offers_by_wave(s, rid).values()] == [3, 6]


def test_a_scheduled_visit_is_offered_48_hours_ahead(world):
    s, t0 = world["session"], world["t0"]
    start = t0 + timedelta(days=5)
    rid = _book(world, t0, scheduled_start=start).id
    assert s.get(ServiceRequest, rid).status == RequestStatus.PENDING
    _tick(world, t0 + timedelta(days=2))
    assert s.get(ServiceRequest, rid).status == RequestStatus.PENDING
    _tick(world, start - timedelta(hours=47))
    assert s.get(ServiceRequest, rid).status == RequestStatus.OFFERING


def test_an_expired_offer_cannot_be_accepted(world):
    s, t0 = world["session"], world["t0"]
    rid = _book(world, t0).id
    offer = _offers_by_wave(s, rid)[1][0]
    user = s.get(type(world["owner"]), world["providers"][0].user_id)
    with pytest.raises(Exception) as caught:
        offers.accept_offer(session=s, user=user, offer_id=offer.id, now=t0 + timedelta(seconds=95))
    assert getattr(caught.value, "code", None) == "offer_expired"


def test_sos_alerts_the_nearest_five_on_duty_and_escalates_until_acknowledged(world):
    s, t0 = world["session"], world["t0"]
    family = f.user(s, Role.FAMILY)
    f.family_link(s, world["senior"], family)
    far = f.on_duty_provider(s, world["community"], km_east=8.0)
    s.commit()
    alert, created = sos.raise_sos(session=s, user=world["owner"], data=SosCreate(senior_id=world["senior"].id),
                                   now=t0)
    assert created
    responders = [r["provider_id"] for r in s.get(sos.SosAlert, alert.id).responders]
    assert responders == [p.id for p in world["providers"][:5]] and far.id not in responders
    alerted = {e.user_id for e in s.exec(select(Event).where(Event.type == "sos_alert")).all()}
    assert family.id in alerted and world["providers"][0].user_id in alerted
    assert s.exec(select(Event).where(Event.type == "sos_alert", Event.community_id == world["community"].id)).first()
    assert sos.escalate_unacknowledged(session=s, now=t0 + timedelta(minutes=2)) == 0
    assert sos.escalate_unacknowledged(session=s, now=t0 + timedelta(minutes=3)) == 1
    assert sos.escalate_unacknowledged(session=s, now=t0 + timedelta(minutes=4)) == 0
    assert sos.escalate_unacknowledged(session=s, now=t0 + timedelta(minutes=6)) == 1
    sos.acknowledge_sos(session=s, user=family, sos_id=alert.id, now=t0 + timedelta(minutes=7))
    assert sos.escalate_unacknowledged(session=s, now=t0 + timedelta(minutes=30)) == 0
    done = sos.resolve_sos(session=s, user=family, sos_id=alert.id, note="已送医", now=t0 + timedelta(minutes=40))
    assert done.status == "resolved" and done.escalations == 2


def test_one_open_sos_per_senior_and_everyone_who_saw_it(world):
    """A second press while an alert is open returns that alert; each acknowledgement is listed once;
    once resolved, a new press raises a new alert."""
    s, t0 = world["session"], world["t0"]
    family = f.user(s, Role.FAMILY)
    f.family_link(s, world["senior"], family)
    helper = world["providers"][0]
    s.commit()
    press = SosCreate(senior_id=world["senior"].id)
    first, created = sos.raise_sos(session=s, user=world["owner"], data=press, now=t0)
    again, created_again = sos.raise_sos(session=s, user=family, data=press, now=t0 + timedelta(seconds=20))
    assert created and not created_again and again.id == first.id
    assert s.exec(select(func.count()).select_from(sos.SosAlert)).one() == 1
    provider_user = s.get(User, helper.user_id)
    sos.acknowledge_sos(session=s, user=family, sos_id=first.id, now=t0 + timedelta(minutes=1))
    sos.acknowledge_sos(session=s, user=family, sos_id=first.id, now=t0 + timedelta(minutes=2))  # once per person
    seen = sos.acknowledge_sos(session=s, user=provider_user, sos_id=first.id, now=t0 + timedelta(minutes=3))
    assert [(a.user_id, a.role) for a in seen.acks] == [(family.id, "family"), (provider_user.id, "provider")]
    assert seen.status == "acknowledged" and seen.acks[0].name == family.name
    assert [a.id for a in sos.list_sos(session=s, user=provider_user, status="open", now=t0)] == [first.id]
    assert [a.id for a in sos.list_sos(session=s, user=family, status="open", now=t0)] == [first.id]
    stranger = s.get(User, world["providers"][-1].user_id)
    assert sos.list_sos(session=s, user=stranger, status="all", now=t0) == []
    sos.resolve_sos(session=s, user=family, sos_id=first.id, note="误按", now=t0 + timedelta(minutes=5))
    assert sos.list_sos(session=s, user=family, status="open", now=t0) == []
    assert [a.id for a in sos.list_sos(session=s, user=family, status="all", now=t0)] == [first.id]
    second, created = sos.raise_sos(session=s, user=world["owner"], data=press, now=t0 + timedelta(minutes=6))
    assert created and second.id != first.id


def test_a_provider_who_knows_the_senior_is_in_the_first_wave(world):
    s, t0 = world["session"], world["t0"]
    familiar = world["providers"][7]  # 1.6 km away: outside the three nearest
    for day in range(5):
        start = t0 - timedelta(days=day + 1)
        s.add(ServiceRequest(senior_id=world["senior"].id, community_id=world["community"].id, service_type="meal",
                             status=RequestStatus.COMPLETED, scheduled_start=start,
                             scheduled_end=start + timedelta(hours=1), created_by=world["owner"].id,
                             provider_id=familiar.id))
    s.commit()
    rid = _book(world, t0).id
    first = _offers_by_wave(s, rid)[1]
    assert familiar.id in [o.provider_id for o in first]
    assert world["providers"][0].id in [o.provider_id for o in first]  # the nearest keeps its seat
    offer = next(o for o in first if o.provider_id == familiar.id)
    assert any(r["code"] == "continuity" for r in offer.reasons)


def _steps(s, request_id):
    rows = s.exec(select(RequestHistory).where(RequestHistory.request_id == request_id)
                  .order_by(RequestHistory.id)).all()
    return [(h.from_status, h.to_status, h.actor_id) for h in rows]


def test_a_booking_records_each_step_of_its_history(world):
    s, t0, owner = world["session"], world["t0"], world["owner"]
    rid = _book(world, t0).id
    assert _steps(s, rid) == [(None, "pending", owner.id), ("pending", "offering", owner.id)]
    assert s.get(ServiceRequest, rid).status == RequestStatus.OFFERING


def test_a_booking_nobody_can_take_is_escalated_at_once(world):
    s, t0, owner = world["session"], world["t0"], world["owner"]
    rid = _book(world, t0, service_type="bathing").id  # nobody offers bathing here
    request = s.get(ServiceRequest, rid)
    assert request.status == RequestStatus.ESCALATED and request.escalated_at is not None
    assert _steps(s, rid) == [(None, "pending", owner.id), ("pending", "escalated", owner.id)]
    assert s.exec(select(Offer).where(Offer.request_id == rid)).all() == []
