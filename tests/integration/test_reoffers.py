"""Escalated requests offered again on SQLite and PostgreSQL: when a provider comes on duty or is
verified, and by the periodic retry; ASAP ones for 2 h, scheduled ones until 30 min before they
start; staff see them escalated until someone accepts, and exactly one accept wins."""
from datetime import timedelta

import pytest
from sqlmodel import select

from dispatch.catalog import ProviderStatus, Role
from dispatch.lifecycle import OfferStatus, RequestStatus
from models.accounts import User
from models.events import Event
from models.providers import DutyUpdate
from models.requests import Offer, RequestCreate, RequestHistory, ServiceRequest
from models.types import utcnow
from server.errors import Conflict
from server.services import offers, providers, reoffers, requests
from server.steps.directory import ProviderDirectory
from tests import factories as f


@pytest.fixture
def world(db_session):
    """A senior at the first community with nobody on duty near: every booking escalates at once."""
    com = f.first_community(db_session)
    owner = f.user(db_session, Role.SENIOR)
    senior = f.senior(db_session, com, owner=owner)
    staff = f.staff(db_session, com)
    # Verified and near, but off duty: not eligible for an ASAP request until they go on duty.
    nearby = f.provider(db_session, com, services=("meal",), lon=com.lon + 0.01)
    db_session.commit()
    return {"session": db_session, "owner": owner, "senior": senior, "staff": staff, "community": com,
            "nearby": nearby, "user": db_session.get(User, nearby.user_id),
            "directory": ProviderDirectory(db_session.get_bind()), "t0": utcnow()}


def _book(w, now, service_type="meal", **extra):
    data = RequestCreate(senior_id=w["senior"].id, service_type=service_type, **extra)
    booked = requests.create_request(session=w["session"], user=w["owner"], data=data, directory=w["directory"],
                                     now=now)
    assert booked.status == RequestStatus.ESCALATED
    return booked.id


def _on_duty(w, now, user=None):
    c = w["community"]
    providers.set_duty(session=w["session"], user=user or w["user"], now=now,
                       data=DutyUpdate(on_duty=True, lat=c.lat, lon=c.lon + 0.01))


def _offers_to(w, user):
    return [e.payload["offer"] for e in w["session"].exec(
        select(Event).where(Event.user_id == user.id, Event.type == "offer_created").order_by(Event.id)).all()]


def _escalated_for_staff(w):
    return [r.id for r in requests.list_requests(session=w["session"], user=w["staff"], status=RequestStatus.ESCALATED)]


def test_a_provider_going_on_duty_nearby_is_offered_an_escalated_request_and_takes_it(world):
    s, t0 = world["session"], world["t0"]
    rid = _book(world, t0)
    assert _offers_to(world, world["user"]) == []
    _on_duty(world, t0 + timedelta(minutes=30))
    assert [o["request_id"] for o in _offers_to(world, world["user"])] == [rid]
    # Still escalated for the staff while offered again.
    assert s.get(ServiceRequest, rid).status == RequestStatus.ESCALATED
    assert _escalated_for_staff(world) == [rid]
    offer_id = _offers_to(world, world["user"])[0]["id"]
    taken = offers.accept_offer(session=s, user=world["user"], offer_id=offer_id, now=t0 + timedelta(minutes=31))
    assert (taken.status, taken.provider_id) == (RequestStatus.ASSIGNED, world["nearby"].id)
    assert _escalated_for_staff(world) == []
    steps = s.exec(select(RequestHistory.from_status, RequestHistory.to_status)
                   .where(RequestHistory.request_id == rid).order_by(RequestHistory.id)).all()
    assert [tuple(x) for x in steps][-1] == ("escalated", "assigned")


def test_an_asap_request_is_not_offered_again_past_two_hours(world):
    s, t0 = world["session"], world["t0"]
    rid = _book(world, t0)
    _on_duty(world, t0 + timedelta(hours=2, seconds=1))
    assert _offers_to(world, world["user"]) == []
    assert s.get(ServiceRequest, rid).status == RequestStatus.ESCALATED
    scan = reoffers.requests_to_reoffer(session=s, directory=world["directory"], now=t0 + timedelta(hours=2, seconds=2))
    assert scan.request_ids == []


def test_a_scheduled_request_is_offered_again_until_half_an_hour_before_it_starts(world):
    s, t0 = world["session"], world["t0"]
    c = world["community"]
    # Bathing: the off-duty provider nearby (who could take a scheduled meal) does not offer it.
    soon = _book(world, t0, "bathing", scheduled_start=t0 + timedelta(minutes=50))
    later = _book(world, t0, "bathing", scheduled_start=t0 + timedelta(hours=5))
    # A new provider is verified 25 min later: `soon` starts in 25 min, too late to offer; `later` is offered.
    pending = f.provider(s, c, services=("bathing",), status=ProviderStatus.PENDING, lat=c.lat + 0.01)
    s.commit()
    providers.set_provider_status(session=s, user=world["staff"], provider_id=pending.id,
                                  status=ProviderStatus.VERIFIED, reason=None, now=t0 + timedelta(minutes=25))
    got = _offers_to(world, s.get(User, pending.user_id))
    assert [o["request_id"] for o in got] == [later]
    assert sorted(_escalated_for_staff(world)) == sorted([soon, later])


def test_the_periodic_retry_offers_to_providers_who_became_eligible_elsewhere(world):
    """A provider who came on duty through another process, or was freed: the sweep finds them."""
    s, t0 = world["session"], world["t0"]
    rid = _book(world, t0)
    c = world["community"]
    other = f.provider_on_duty_at(s, c, lat=c.lat + 0.005, services=("meal",))  # written directly
    s.commit()
    now = t0 + timedelta(minutes=10)
    scan = reoffers.requests_to_reoffer(session=s, directory=world["directory"], now=now)
    assert scan.request_ids == [rid]
    assert reoffers.reoffer_request(session=s, request_id=rid, directory=world["directory"], now=now) == 1
    assert [o["request_id"] for o in _offers_to(world, s.get(User, other.user_id))] == [rid]
    assert s.get(ServiceRequest, rid).status == RequestStatus.ESCALATED
    # While that offer is open, nothing more; once it expired, nobody new is left: nothing.
    assert reoffers.requests_to_reoffer(session=s, directory=world["directory"], now=now).request_ids == []
    assert reoffers.reoffer_request(session=s, request_id=rid, directory=world["directory"], now=now) == 0
    offer = s.exec(select(Offer).where(Offer.request_id == rid)).one()
    offer.status = OfferStatus.EXPIRED
    s.add(offer)
    s.commit()
    assert reoffers.requests_to_reoffer(session=s, directory=world["directory"],
                                        now=now + timedelta(minutes=5)).request_ids == []


def test_an_offer_withdrawn_by_escalation_cannot_be_accepted(world):
    """Escalating withdraws open offers: accepting one after loses, though escalated requests can
    be taken through a live offer."""
    s, t0 = world["session"], world["t0"]
    c = world["community"]
    p = f.provider_on_duty_at(s, c, lat=c.lat + 0.005, services=("meal",))
    s.commit()
    rid = requests.create_request(session=s, user=world["owner"], directory=world["directory"], now=t0,
                                  data=RequestCreate(senior_id=world["senior"].id, service_type="meal")).id
    offer = s.exec(select(Offer).where(Offer.request_id == rid)).one()
    request = s.get(ServiceRequest, rid)
    from server.steps.waves import escalate
    escalate(s, request, now=t0, reason="test")
    s.commit()
    with pytest.raises(Conflict) as caught:
        offers.accept_offer(session=s, user=s.get(User, p.user_id), offer_id=offer.id, now=t0 + timedelta(seconds=5))
    assert caught.value.code == "offer_taken"
    assert s.get(ServiceRequest, rid).status == RequestStatus.ESCALATED


def test_staff_assigning_by_hand_and_a_provider_accepting_cannot_both_win(world):
    s, t0 = world["session"], world["t0"]
    rid = _book(world, t0)
    _on_duty(world, t0 + timedelta(minutes=1))
    offer_id = _offers_to(world, world["user"])[0]["id"]
    offers.accept_offer(session=s, user=world["user"], offer_id=offer_id, now=t0 + timedelta(minutes=2))
    other = f.provider(s, world["community"], services=("meal",))
    s.commit()
    with pytest.raises(Conflict) as caught:
        offers.assign_by_staff(session=s, user=world["staff"], request_id=rid, provider_id=other.id,
                               now=t0 + timedelta(minutes=2))
    assert caught.value.code == "invalid_transition"
    assert s.get(ServiceRequest, rid).provider_id == world["nearby"].id


def test_the_scheduler_job_offers_again_one_transaction_each(engine):
    """server.jobs.run_reoffers, as the scheduler calls it (SQLite file database)."""
    from models.engine import read_session, write_session
    from server import jobs

    t0 = utcnow()
    with write_session(engine) as s:
        com = f.first_community(s)
        owner = f.user(s, Role.SENIOR)
        senior = f.senior(s, com, owner=owner)
        s.commit()
        booked = requests.create_request(session=s, user=owner, directory=ProviderDirectory(engine), now=t0,
                                         data=RequestCreate(senior_id=senior.id, service_type="meal"))
        assert booked.status == RequestStatus.ESCALATED
        f.provider_on_duty_at(s, com, services=("meal",))  # through another process, say
        s.commit()
    assert jobs.run_reoffers(engine, ProviderDirectory(engine)) == 1
    assert jobs.run_reoffers(engine, ProviderDirectory(engine)) == 0  # its offer is open
    with read_session(engine) as s:
        assert s.exec(select(Offer.status).where(Offer.request_id == booked.id)).all() == [OfferStatus.OFFERED]
        assert s.get(ServiceRequest, booked.id).status == RequestStatus.ESCALATED


def test_the_retry_goes_round_the_escalated_requests_a_slice_at_a_time(world):
    s, t0 = world["session"], world["t0"]
    first, second = _book(world, t0), _book(world, t0 + timedelta(seconds=1))
    c = world["community"]
    f.provider_on_duty_at(s, c, lat=c.lat + 0.005, services=("meal",))
    s.commit()
    now = t0 + timedelta(minutes=1)
    one = reoffers.requests_to_reoffer(session=s, directory=world["directory"], now=now, scan=1)
    assert (one.request_ids, one.next_after) == ([first], first)
    two = reoffers.requests_to_reoffer(session=s, directory=world["directory"], now=now, after=first, scan=1)
    assert (two.request_ids, two.next_after) == ([second], second)
    end = reoffers.requests_to_reoffer(session=s, directory=world["directory"], now=now, after=second, scan=1)
    assert (end.request_ids, end.next_after) == ([], 0)  # past the last: start again next time
