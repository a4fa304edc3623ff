"""The sweep advances requests in batches (server.services.sweeper.advance_requests): the same
decisions as one request at a time, shared reads and writes, every write conditional on what was
read under the lock, and rows another transaction holds left for the next tick. SQLite and
PostgreSQL, with a controlled clock."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event, text, update
from sqlmodel import func, select

from dispatch.catalog import Role
from dispatch.lifecycle import OfferStatus, RequestStatus
from models.accounts import User
from models.engine import write_session
from models.events import Event
from models.providers import Provider
from models.requests import Offer, RequestCreate, RequestHistory, ServiceRequest
from models.seniors import Senior
from models.types import utcnow
from server import jobs
from server.services import offers as offer_service, requests, sweeper
from server.steps import wave_batches, waves
from server.steps.directory import ProviderDirectory
from server.steps.wave_batches import Due, open_next_waves, plan_next_waves
from tests import factories as f
from tests.integration.test_accept_race import race_engine  # noqa: F401 (a fixture)

LATER = timedelta(seconds=200)  # every first wave (90 s) is over


def _arrange(s, *, providers=14, seniors=3):
    """Providers on duty east of the centre (nearest first), seniors with accounts (one with family)."""
    com = f.first_community(s)
    ps = [f.on_duty_provider(s, com, km_east=0.2 * (i + 1)) for i in range(providers)]
    owners = [f.user(s, Role.SENIOR) for _ in range(seniors)]
    people = [f.senior(s, com, owner=o, lat=com.lat + 0.002 * k) for k, o in enumerate(owners)]
    family = f.user(s, Role.FAMILY)
    f.family_link(s, people[0], family)
    s.commit()
    return com, ps, owners, people, family


def _book(s, directory, owner, senior, now, **extra):
    data = RequestCreate(senior_id=senior.id, service_type=extra.pop("service_type", "meal"), **extra)
    return requests.create_request(session=s, user=owner, data=data, directory=directory, now=now).id


def _stalled_world(s, count):
    com, ps, owners, people, family = _arrange(s)
    directory = ProviderDirectory(s.get_bind())
    t0 = utcnow()
    ids = [_book(s, directory, owners[k % 3], people[k % 3], t0 + timedelta(seconds=k)) for k in range(count)]
    sweeper.expire_offers(session=s, now=t0 + LATER)
    return directory, t0 + LATER, ids, ps, people, family


def _due(s, ids):
    requests_ = s.exec(select(ServiceRequest).where(ServiceRequest.id.in_(ids)).order_by(ServiceRequest.id)).all()
    out = []
    for r in requests_:
        prior = s.exec(select(Offer.id, Offer.provider_id, Offer.status).where(Offer.request_id == r.id)).all()
        out.append(Due(r, s.get(Senior, r.senior_id), prior))
    return out


@pytest.mark.parametrize("short_list", [32, 4])  # 4: every short list must widen, in both paths
def test_a_batch_decides_as_one_request_at_a_time(db_session, monkeypatch, short_list):
    """Wave 2, wave 3, then the escalation: at each step the same decisions as plan_next_wave."""
    s = db_session
    monkeypatch.setattr(waves, "SHORT_LIST", short_list)
    monkeypatch.setattr(wave_batches, "SHORT_LIST", short_list)
    directory, now, ids, _ps, _people, _family = _stalled_world(s, 6)
    for step in range(3):
        due = _due(s, ids)
        batch = plan_next_waves(s, due, directory=directory, now=now)
        for d, planned in zip(due, batch):
            alone = waves.plan_next_wave(s, d.request, d.senior, directory=directory, now=now)
            assert planned.decision == alone.decision
            if step < 2:  # the batch scores only the providers not asked yet; past the last wave, none
                asked = {o.provider_id for o in d.prior if o.status != OfferStatus.WITHDRAWN}
                fresh = [c for c in alone.ranked if c.provider_id not in asked]
                assert [(c.provider_id, c.score) for c in planned.ranked] == [(c.provider_id, c.score) for c in fresh]
                assert {pid: planned.user_ids[pid] for pid in planned.decision.provider_ids} \
                    == {pid: alone.user_ids[pid] for pid in alone.decision.provider_ids}
        assert {w.decision.escalate for w in batch} == {step == 2}
        sweeper.advance_requests(session=s, request_ids=ids, directory=directory, now=now)
        now += LATER
        sweeper.expire_offers(session=s, now=now)


def test_waves_then_escalation_in_batches(db_session):
    s = db_session
    directory, now, ids, ps, people, family = _stalled_world(s, 5)
    nearest = [p.id for p in ps]

    def family_told():
        return sorted(e.payload["request"]["id"] for e in s.exec(select(Event).where(
            Event.user_id == family.id, Event.type == "request_updated")).all())
    before = family_told()
    assert set(sweeper.advance_requests(session=s, request_ids=ids, directory=directory, now=now).values()) \
        == {"offering"}
    for rid in ids:
        request = s.get(ServiceRequest, rid)
        assert request.wave == 2 and request.status == RequestStatus.OFFERING
        second = s.exec(select(Offer.provider_id).where(Offer.request_id == rid, Offer.wave == 2)
                        .order_by(Offer.id)).all()
        assert sorted(second) == sorted(nearest[3:9])
    created = s.exec(select(Event).where(Event.type == "offer_created")).all()
    assert sum(e.payload["offer"]["request_id"] in ids and e.payload["offer"]["status"] == "offered"
               for e in created) == 5 * (3 + 6)
    # The senior with family: their family hears of each of the senior's requests (two of the five).
    assert family_told() == sorted(before + [ids[0], ids[3]])
    sweeper.expire_offers(session=s, now=now + LATER)
    sweeper.advance_requests(session=s, request_ids=ids, directory=directory, now=now + LATER)
    assert {s.get(ServiceRequest, rid).wave for rid in ids} == {3}
    assert s.exec(select(func.count()).select_from(Offer).where(Offer.request_id == ids[0], Offer.wave == 3)).one() \
        == len(ps) - 9  # 12 wanted, 5 left
    sweeper.expire_offers(session=s, now=now + 2 * LATER)
    outcome = sweeper.advance_requests(session=s, request_ids=ids, directory=directory, now=now + 2 * LATER)
    assert set(outcome.values()) == {"escalated"}
    for rid in ids:
        request = s.get(ServiceRequest, rid)
        assert request.status == RequestStatus.ESCALATED and request.escalated_at is not None
        steps = s.exec(select(RequestHistory).where(RequestHistory.request_id == rid)
                       .order_by(RequestHistory.id)).all()
        assert [(h.from_status, h.to_status, h.note) for h in steps][-1] == ("offering", "escalated", "waves_exhausted")
        assert len(steps) == 3  # made, offered, escalated: a next wave is no change of status
    staff = s.exec(select(Event).where(Event.community_id == people[0].community_id,
                                       Event.type == "request_updated")).all()
    assert {e.payload["request"]["id"] for e in staff if e.payload["request"]["status"] == "escalated"} == set(ids)


def test_one_batch_of_every_kind(db_session):
    """Stalled (next wave), scheduled and now due (first wave), nobody left (escalated), still
    waiting (unchanged) and cancelled (skipped), all in one batch."""
    s = db_session
    com, ps, owners, people, _family = _arrange(s)
    cleaner = f.on_duty_provider(s, com, km_east=0.1, services=("cleaning",))
    s.commit()
    directory = ProviderDirectory(s.get_bind())
    t0 = utcnow()
    stalled = _book(s, directory, owners[0], people[0], t0)
    lonely = _book(s, directory, owners[1], people[1], t0, service_type="cleaning")  # one provider to ask
    waiting = _book(s, directory, owners[2], people[2], t0 + timedelta(seconds=150))
    cancelled = _book(s, directory, owners[0], people[0], t0)
    scheduled = _book(s, directory, owners[1], people[1], t0, scheduled_start=t0 + timedelta(days=3))
    requests.cancel_request(session=s, user=owners[0], request_id=cancelled, reason=None, directory=directory,
                            now=t0 + timedelta(seconds=10))
    now = t0 + timedelta(days=1, hours=1)  # the scheduled visit is now within 48 h
    sweeper.expire_offers(session=s, now=t0 + LATER)
    outcome = sweeper.advance_requests(session=s, request_ids=[stalled, lonely, waiting, cancelled, scheduled],
                                       directory=directory, now=now)
    assert outcome == {stalled: "offering", lonely: "escalated", waiting: "unchanged", cancelled: "skipped",
                       scheduled: "offering"}
    assert s.get(ServiceRequest, lonely).escalated_at == now
    for rid, step in ((lonely, ("offering", "escalated", "no_candidates")), (scheduled, ("pending", "offering", "wave_1"))):
        last = s.exec(select(RequestHistory).where(RequestHistory.request_id == rid)
                      .order_by(RequestHistory.id.desc())).first()
        assert (last.from_status, last.to_status, last.note) == step and last.actor_id is None
    first = s.exec(select(Offer).where(Offer.request_id == scheduled)).all()
    assert {o.wave for o in first} == {1} and len(first) == 3 and ps[0].id in {o.provider_id for o in first}
    assert s.get(ServiceRequest, scheduled).first_offer_at == now
    assert s.exec(select(func.count()).select_from(Offer).where(Offer.request_id == waiting, Offer.wave == 2)).one() == 0
    assert s.exec(select(func.count()).select_from(Offer).where(Offer.request_id == cancelled,
                                                                Offer.status == OfferStatus.OFFERED.value)).one() == 0
    assert s.get(ServiceRequest, cancelled).status == RequestStatus.CANCELLED
    assert cleaner.id in {o.provider_id for o in s.exec(select(Offer).where(Offer.request_id == lonely)).all()}


def test_a_withdrawn_offer_is_asked_again_in_place(db_session):
    s = db_session
    directory, now, ids, ps, _people, _family = _stalled_world(s, 1)
    nearest = s.exec(select(Offer).where(Offer.request_id == ids[0], Offer.provider_id == ps[0].id)).one()
    nearest.status = OfferStatus.WITHDRAWN  # taken back, not the provider's choice: they may be asked again
    s.add(nearest)
    s.commit()
    sweeper.advance_requests(session=s, request_ids=ids, directory=directory, now=now)
    s.refresh(nearest)
    assert nearest.status == OfferStatus.OFFERED and nearest.wave == 2 and nearest.responded_at is None
    assert nearest.reasons and nearest.expires_at > now
    assert s.exec(select(func.count()).select_from(Offer).where(Offer.request_id == ids[0],
                                                                Offer.provider_id == ps[0].id)).one() == 1
    told = s.exec(select(Event).where(Event.user_id == ps[0].user_id, Event.type == "offer_created")).all()
    assert [e.payload["offer"]["id"] for e in told] == [nearest.id, nearest.id]  # wave 1, then again


def test_a_request_changed_after_it_was_read_is_left_as_it_is(db_session):
    s = db_session
    directory, now, ids, _ps, _people, _family = _stalled_world(s, 3)
    due = _due(s, ids)
    s.execute(update(ServiceRequest.__table__).where(ServiceRequest.__table__.c.id == ids[1])
              .values(wave=2))  # someone else opened its next wave meanwhile
    outcome = open_next_waves(s, due, directory=directory, now=now)
    s.commit()
    assert outcome == {ids[0]: "offering", ids[1]: "unchanged", ids[2]: "offering"}
    assert s.exec(select(func.count()).select_from(Offer).where(Offer.request_id == ids[1], Offer.wave > 1)).one() == 0
    assert s.exec(select(func.count()).select_from(Offer).where(Offer.request_id == ids[0], Offer.wave == 2)).one() == 6


def test_a_batch_costs_the_same_statements_whatever_its_size(db_session):
    """Its reads and writes are shared: five requests or ten, the same number of statements."""
    s = db_session
    directory, now, ids, _ps, _people, _family = _stalled_world(s, 15)
    directory = ProviderDirectory(s.get_bind(), check_every=3600)
    directory.warm(now)
    bind = s.get_bind()
    engine = getattr(bind, "engine", bind)
    statements = []

    def count(*_args):
        statements.append(1)
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        counts = []
        for batch in (ids[:5], ids[5:]):
            statements.clear()
            assert set(sweeper.advance_requests(session=s, request_ids=batch, directory=directory,
                                                now=now).values()) == {"offering"}
            counts.append(len(statements))
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    assert counts[0] == counts[1] <= 12


def _committed_world(engine, count):
    with write_session(engine) as s:
        directory, now, ids, ps, people, family = _stalled_world(s, count)
        return now, ids, [p.id for p in ps]


def test_rows_another_transaction_holds_are_skipped_and_the_rest_advance(race_engine):  # noqa: F811
    if race_engine.dialect.name == "sqlite":
        pytest.skip("SQLite's write transaction holds the whole database: nothing can hold a row meanwhile")
    now, ids, _ps = _committed_world(race_engine, 4)
    directory = ProviderDirectory(race_engine)
    with race_engine.connect() as other:  # a cancel in flight on ids[1], not yet committed
        other.execute(update(ServiceRequest.__table__).where(ServiceRequest.__table__.c.id == ids[1])
                      .values(status=RequestStatus.CANCELLED.value))
        with write_session(race_engine) as s:
            s.execute(text("SET LOCAL lock_timeout = '10s'"))  # waiting on the row would fail the test
            outcome = sweeper.advance_requests(session=s, request_ids=ids, directory=directory, now=now)
        assert outcome == {ids[0]: "offering", ids[1]: "skipped", ids[2]: "offering", ids[3]: "offering"}
        other.commit()
    with write_session(race_engine) as s:
        assert sweeper.advance_requests(session=s, request_ids=[ids[1]], directory=directory, now=now) \
            == {ids[1]: "skipped"}
        assert s.get(ServiceRequest, ids[1]).status == RequestStatus.CANCELLED
        assert s.exec(select(func.count()).select_from(Offer).where(Offer.request_id == ids[1],
                                                                    Offer.status == OfferStatus.OFFERED.value)).one() == 0


def test_accepts_racing_the_batched_sweep_each_win_once(race_engine):  # noqa: F811
    """Half the requests have a live offer being accepted while the sweep advances all of them: the
    accepts win and those requests are left as they are; the stalled ones get their next wave."""
    now, ids, _ps = _committed_world(race_engine, 6)
    live = ids[::2]
    with write_session(race_engine) as s:
        offers, users = {}, {}
        for k, rid in enumerate(live):  # one expired offer of each made live again, each to another provider
            offer = s.exec(select(Offer).where(Offer.request_id == rid).order_by(Offer.id)).all()[k]
            offer.status, offer.expires_at = OfferStatus.OFFERED, now + timedelta(minutes=5)
            s.add(offer)
            offers[rid] = offer.id
            users[rid] = s.get(User, s.get(Provider, offer.provider_id).user_id)
        s.commit()
    directory = ProviderDirectory(race_engine)
    barrier = threading.Barrier(len(live) + 1)
    results, errors = {}, []

    def accept(rid):
        barrier.wait()
        try:
            with write_session(race_engine) as s:
                offer_service.accept_offer(session=s, user=users[rid], offer_id=offers[rid], now=now)
            results[rid] = "accepted"
        except Exception as exc:  # noqa: BLE001 (recorded, the test fails on it)
            errors.append(exc)

    def sweep():
        barrier.wait()
        with write_session(race_engine) as s:
            results["sweep"] = sweeper.advance_requests(session=s, request_ids=ids, directory=directory, now=now)
    threads = [threading.Thread(target=accept, args=(rid,)) for rid in live] + [threading.Thread(target=sweep)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and all(results[rid] == "accepted" for rid in live)
    with write_session(race_engine) as s:
        for rid in ids:
            request = s.get(ServiceRequest, rid)
            accepted = s.exec(select(Offer).where(Offer.request_id == rid, Offer.status == OfferStatus.ACCEPTED.value)).all()
            if rid in live:
                assert request.status == RequestStatus.ASSIGNED and len(accepted) == 1 and request.wave == 1
                assert results["sweep"][rid] in ("unchanged", "skipped")
            else:
                assert request.status == RequestStatus.OFFERING and request.wave == 2 and not accepted


def test_a_tick_goes_batch_by_batch_and_one_bad_request_holds_up_no_other(race_engine, monkeypatch):  # noqa: F811
    now, ids, _ps = _committed_world(race_engine, 7)
    directory = ProviderDirectory(race_engine)
    monkeypatch.setattr(jobs, "ADVANCE_BATCH", 3)
    real = wave_batches.open_next_waves

    def poisoned(session, due, **kw):
        if any(d.request.id == ids[4] for d in due):
            raise RuntimeError("a request the sweep cannot advance")
        return real(session, due, **kw)
    monkeypatch.setattr(sweeper, "open_next_waves", poisoned)
    result = jobs.run_sweep(race_engine, directory, now=now)
    assert result["advanced"] == 6 and not result["left"]
    with write_session(race_engine) as s:
        assert [s.get(ServiceRequest, rid).wave for rid in ids] == [2, 2, 2, 2, 1, 2, 2]


def test_a_cancel_waits_for_a_sweep_holding_the_request_and_withdraws_its_new_offers(race_engine):  # noqa: F811
    """A sweep batch holds a request's row while it opens a wave; a cancel arriving meanwhile waits
    for it and then withdraws the new offers too (it read them before, and left them open)."""
    if race_engine.dialect.name == "sqlite":
        pytest.skip("SQLite's write transaction holds the whole database: the cancel cannot start meanwhile")
    now, ids, ps = _committed_world(race_engine, 1)
    with write_session(race_engine) as s:
        owner = s.get(User, s.get(Senior, s.get(ServiceRequest, ids[0]).senior_id).user_id)
        asked = {o for o in s.exec(select(Offer.provider_id).where(Offer.request_id == ids[0])).all()}
    fresh = next(p for p in ps if p not in asked)
    errors = []
    with race_engine.connect() as sweep:  # the sweep's transaction: row locked, a new offer written
        sweep.execute(select(ServiceRequest.__table__.c.id).where(ServiceRequest.__table__.c.id == ids[0])
                      .with_for_update())
        sweep.execute(Offer.__table__.insert().values(
            request_id=ids[0], provider_id=fresh, status=OfferStatus.OFFERED.value, wave=2, score=1.0,
            distance_km=1.0, reasons=[], created_at=now, expires_at=now + timedelta(minutes=2)))

        def cancel():
            try:
                with write_session(race_engine) as s:
                    requests.cancel_request(session=s, user=s.get(User, owner.id), request_id=ids[0], reason=None,
                                            directory=ProviderDirectory(race_engine), now=now)
            except Exception as exc:  # noqa: BLE001 (recorded, the test fails on it)
                errors.append(exc)
        thread = threading.Thread(target=cancel)
        thread.start()
        with race_engine.connect() as watch:  # until the cancel waits on the row lock (or has finished)
            for _ in range(200):
                waiting = watch.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                             "AND datname = current_database()")).scalar()
                if waiting or not thread.is_alive():
                    break
                threading.Event().wait(0.05)
        sweep.commit()
        thread.join()
    assert not errors
    with write_session(race_engine) as s:
        assert s.get(ServiceRequest, ids[0]).status == RequestStatus.CANCELLED
        assert s.exec(select(func.count()).select_from(Offer).where(
            Offer.request_id == ids[0], Offer.status == OfferStatus.OFFERED.value)).one() == 0
