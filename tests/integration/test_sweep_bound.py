"""The sweep does bounded work per tick, oldest first, and the next tick goes on (controlled clock;
SQLite and PostgreSQL)."""
from datetime import timedelta

import pytest
from sqlmodel import func, select

from dispatch.catalog import Role
from dispatch.lifecycle import OfferStatus, RequestStatus
from models.events import Event
from models.requests import Offer, RequestCreate, ServiceRequest
from models.types import utcnow
from server.jobs import run_sweep
from server.services import requests, sweeper
from server.steps.directory import ProviderDirectory
from tests import factories as f

BOOKED = 7


def _world(session):
    com = f.first_community(session)
    owner = f.user(session, Role.SENIOR)
    senior = f.senior(session, com, owner=owner)
    for i in range(12):
        f.on_duty_provider(session, com, km_east=0.2 * (i + 1))
    session.commit()
    directory = ProviderDirectory(session.get_bind())
    t0 = utcnow()
    ids = []
    for k in range(BOOKED):  # one a second: their offers' deadlines follow the same order
        data = RequestCreate(senior_id=senior.id, service_type="meal")
        ids.append(requests.create_request(session=session, user=owner, data=data, directory=directory,
                                           now=t0 + timedelta(seconds=k)).id)
    return directory, t0, ids


def _stalled(s) -> int:
    live = select(Offer.id).where(Offer.request_id == ServiceRequest.id, Offer.status == OfferStatus.OFFERED.value)
    return s.exec(select(func.count()).select_from(ServiceRequest)
                  .where(ServiceRequest.status == RequestStatus.OFFERING.value, ~live.exists())).one()


@pytest.fixture
def world(db_session):
    return (db_session, *_world(db_session))


@pytest.mark.own_schema  # it counts every offer and event in the database
def test_expiry_is_bounded_and_takes_the_earliest_deadlines_first(world):
    s, _directory, t0, ids = world
    later = t0 + timedelta(seconds=200)  # every first wave (90 s) is over
    assert sweeper.expire_offers(session=s, now=later, limit=5) == 5
    expired = s.exec(select(Offer.request_id).where(Offer.status == OfferStatus.EXPIRED.value)).all()
    assert set(expired) <= set(ids[:2])  # 3 offers each: the first two requests' offers end first
    events = s.exec(select(func.count()).select_from(Event).where(Event.type == "offer_withdrawn")).one()
    assert events == 5
    assert sweeper.expire_offers(session=s, now=later, limit=5000) == 3 * BOOKED - 5  # the next tick: the rest
    assert sweeper.expire_offers(session=s, now=later) == 0
    assert s.exec(select(func.count()).select_from(Event).where(Event.type == "offer_withdrawn")).one() == 3 * BOOKED


@pytest.mark.own_schema
def test_advance_takes_the_oldest_first_and_the_next_tick_goes_on(world):
    s, directory, t0, ids = world
    later = t0 + timedelta(seconds=200)
    sweeper.expire_offers(session=s, now=later)
    assert _stalled(s) == BOOKED
    ticks = 0
    while _stalled(s):
        batch = sweeper.requests_to_advance(session=s, now=later, limit=3)
        assert len(batch) <= 3 and batch == sorted(batch)
        assert batch[0] == min(r for r in ids if s.get(ServiceRequest, r).wave == 1)  # oldest first
        for rid in batch:
            sweeper.advance_request(session=s, request_id=rid, directory=directory, now=later)
        ticks += 1
        assert ticks <= 3
    assert ticks == 3  # 3 + 3 + 1
    assert {s.get(ServiceRequest, r).wave for r in ids} == {2}


def test_a_tick_advances_at_most_its_limit_and_leaves_the_rest_for_the_next(engine):
    with f_session(engine) as s:
        directory, t0, ids = _world(s)
    later = t0 + timedelta(seconds=200)
    first = run_sweep(engine, directory, now=later, advance_limit=4)
    assert first["expired"] == 3 * BOOKED and first["advanced"] == 4 and first["left"]
    second = run_sweep(engine, directory, now=later, advance_limit=4)
    assert second["advanced"] == BOOKED - 4 and not second["left"]
    assert run_sweep(engine, directory, now=later, advance_limit=4)["advanced"] == 0
    with f_session(engine) as s:
        assert {s.get(ServiceRequest, r).wave for r in ids} == {2}
        assert _stalled(s) == 0


def test_a_tick_stops_at_its_time_budget(engine):
    with f_session(engine) as s:
        directory, t0, ids = _world(s)
    later = t0 + timedelta(seconds=200)
    assert run_sweep(engine, directory, now=later, budget_s=0.0)["advanced"] == 0  # over budget at once
    assert run_sweep(engine, directory, now=later)["advanced"] == BOOKED


def f_session(engine):
    from models.engine import write_session

    return write_session(engine)
