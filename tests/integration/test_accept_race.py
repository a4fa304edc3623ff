"""200 rounds of 20 concurrent accepts over HTTP, on SQLite and on PostgreSQL: one winner, no 5xx."""
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from server.state import state
from sqlalchemy import text
from sqlmodel import select

from dispatch.catalog import Role
from models.accounts import User
from models.providers import Provider
from dispatch.lifecycle import OfferStatus, RequestStatus
from models.engine import make_engine, write_session
from models.requests import Offer, ServiceRequest
from models.types import utcnow
from server import create_app
from server.migrate import upgrade
from tests import factories as f
from tests.conftest import PG_URL, sqlite_engine
from tests.conftest import test_settings as make_settings

ROUNDS, RACERS = 200, 20


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def race_engine(request, tmp_path):
    """A committed database that many connections share: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        engine = sqlite_engine(tmp_path)
        yield engine
        engine.dispose()
        return
    request.getfixturevalue("pg_schema_url")  # skips or fails as the suite decides when PG is away
    schema = f"linli_race_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(f"{PG_URL}?options=-csearch_path%3D{schema}")
    upgrade(engine)
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _arrange(engine):
    with write_session(engine) as s:
        com = f.first_community(s)
        senior = f.senior(s, com)
        booker = f.user(s, Role.CENTER_STAFF, communities=(com,))
        providers = [f.on_duty_provider(s, com, km_east=0.1 * (i + 1)) for i in range(RACERS)]
        phones = [f.phone_of(s, p.user_id) for p in providers]
        s.commit()
        return senior.id, com.id, booker.id, [p.id for p in providers], phones


def _new_round(engine, senior_id, community_id, booker_id, provider_ids, number,
               status: RequestStatus = RequestStatus.OFFERING):
    """A request in `status` (offering by default) with a live offer to every racer (a far-off slot,
    so no racer is busy)."""
    start = utcnow() + timedelta(days=3, hours=2 * number)
    with write_session(engine) as s:
        request = ServiceRequest(senior_id=senior_id, community_id=community_id, service_type="meal",
                                 status=status, scheduled_start=start,
                                 scheduled_end=start + timedelta(hours=1), created_by=booker_id, wave=1)
        s.add(request)
        s.flush()
        offers = [Offer(request_id=request.id, provider_id=pid, wave=1, score=1.0, distance_km=1.0,
                        expires_at=utcnow() + timedelta(minutes=10)) for pid in provider_ids]
        s.add_all(offers)
        s.flush()
        ids = [o.id for o in offers]
        s.commit()
        return request.id, ids


def test_exactly_one_of_twenty_concurrent_accepts_wins_every_round(race_engine, tmp_path):
    app = create_app(make_settings(tmp_path), engine=race_engine)
    senior_id, community_id, booker_id, provider_ids, phones = _arrange(race_engine)
    headers = [f.login(app.test_client(), phone) for phone in phones]
    barrier = threading.Barrier(RACERS)

    def accept(i, offer_id):
        client = app.test_client()
        barrier.wait()
        r = client.post(f"/api/v1/offers/{offer_id}/accept", headers=headers[i])
        return r.status_code, (r.get_json() or {}).get("error", {}).get("code")

    with ThreadPoolExecutor(RACERS) as pool:
        for number in range(ROUNDS):
            request_id, offer_ids = _new_round(race_engine, senior_id, community_id, booker_id, provider_ids, number)
            results = list(pool.map(accept, range(RACERS), offer_ids))
            codes = sorted(code for code, _ in results)
            assert codes == [200] + [409] * (RACERS - 1), (number, results)
            assert {err for code, err in results if code == 409} == {"offer_taken"}
            with write_session(race_engine) as s:
                request = s.get(ServiceRequest, request_id)
                statuses = sorted(o.status for o in s.exec(select(Offer).where(Offer.request_id == request_id)))
            winner = provider_ids[[code for code, _ in results].index(200)]
            assert request.status == RequestStatus.ASSIGNED and request.provider_id == winner
            assert statuses.count(OfferStatus.ACCEPTED) == 1
            assert statuses.count(OfferStatus.WITHDRAWN) == RACERS - 1
    state(app).relay.stop()


def test_exactly_one_of_twenty_concurrent_accepts_wins_on_a_live_server(tmp_path):
    """The same race over real connections to `linli serve` (gevent, SQLite), 40 rounds."""
    import requests

    engine = sqlite_engine(tmp_path)
    senior_id, community_id, booker_id, provider_ids, _phones = _arrange(engine)
    with write_session(engine) as s:
        headers = [f.bearer(s, s.get(User, s.get(Provider, pid).user_id)) for pid in provider_ids]
        s.commit()
    instance = tmp_path / "instance"
    instance.mkdir()
    env = {"LINLI_INSTANCE_PATH": str(instance), "LINLI_DATABASE_URL": f"sqlite:///{tmp_path / 'test.db'}",
           "LINLI_SECRET_KEY": "race-secret"}
    sessions = [requests.Session() for _ in range(RACERS)]
    barrier = threading.Barrier(RACERS)
    with f.LiveServer(env, log=tmp_path / "serve.log") as server:

        def accept(i, offer_id):
            barrier.wait()
            r = sessions[i].post(f"{server.url}/api/v1/offers/{offer_id}/accept", headers=headers[i], timeout=30)
            return r.status_code, r.json().get("error", {}).get("code") if r.status_code != 200 else None

        with ThreadPoolExecutor(RACERS) as pool:
            for number in range(40):
                request_id, offer_ids = _new_round(engine, senior_id, community_id, booker_id, provider_ids, number)
                results = list(pool.map(accept, range(RACERS), offer_ids))
                assert sorted(code for code, _ in results) == [200] + [409] * (RACERS - 1), (number, results)
                assert {err for code, err in results if code == 409} == {"offer_taken"}
                with write_session(engine) as s:
                    request = s.get(ServiceRequest, request_id)
                winner = provider_ids[[code for code, _ in results].index(200)]
                assert request.status == RequestStatus.ASSIGNED and request.provider_id == winner
    engine.dispose()


def test_one_provider_racing_for_two_overlapping_visits_gets_only_one(race_engine, tmp_path):
    """The provider row lock serialises a provider's accepts: never two overlapping visits."""
    app = create_app(make_settings(tmp_path), engine=race_engine)
    senior_id, community_id, booker_id, provider_ids, phones = _arrange(race_engine)
    header = f.login(app.test_client(), phones[0])
    for number in range(20):
        start = utcnow() + timedelta(days=1, hours=3 * number)
        ids = []
        with write_session(race_engine) as s:
            for _ in range(2):
                req = ServiceRequest(senior_id=senior_id, community_id=community_id, service_type="meal",
                                     status=RequestStatus.OFFERING, scheduled_start=start,
                                     scheduled_end=start + timedelta(hours=1), created_by=booker_id, wave=1)
                s.add(req)
                s.flush()
                offer = Offer(request_id=req.id, provider_id=provider_ids[0], wave=1, score=1.0, distance_km=1.0,
                              expires_at=utcnow() + timedelta(minutes=10))
                s.add(offer)
                s.flush()
                ids.append(offer.id)
            s.commit()
        barrier = threading.Barrier(2)

        def accept(offer_id):
            client = app.test_client()
            barrier.wait()
            r = client.post(f"/api/v1/offers/{offer_id}/accept", headers=header)
            return r.status_code, (r.get_json() or {}).get("error", {}).get("code")

        with ThreadPoolExecutor(2) as pool:
            results = sorted(pool.map(accept, ids))
        assert results == [(200, None), (409, "provider_busy")], (number, results)
    state(app).relay.stop()
