"""A quiet sweep tick only reads: no write transaction (writer lock, commit) unless an offer is past
its deadline or an SOS alert is open; when one is, the same tick does the work as before."""
from datetime import timedelta

from dispatch.catalog import Role
from dispatch.sos import SOS_ACK_TIMEOUT
from models.engine import write_session
from models.requests import RequestCreate
from models.sos import SosCreate
from models.types import utcnow
from server import jobs
from server.services import requests, sos, sweeper
from server.steps.directory import ProviderDirectory
from tests import factories as f


def _world(session):
    com = f.first_community(session)
    owner = f.user(session, Role.SENIOR)
    senior = f.senior(session, com, owner=owner)
    for i in range(4):
        f.on_duty_provider(session, com, km_east=0.3 * (i + 1))
    session.commit()
    directory = ProviderDirectory(session.get_bind())
    t0 = utcnow()
    request = requests.create_request(session=session, user=owner, now=t0, directory=directory,
                                      data=RequestCreate(senior_id=senior.id, service_type="meal"))
    return directory, t0, owner, senior, request.id


def _count_writes(monkeypatch) -> list:
    opened = []

    def counting(engine):
        opened.append(engine)
        return write_session(engine)

    monkeypatch.setattr(jobs, "write_session", counting)
    return opened


def test_tick_work_says_whether_offers_are_due_and_sos_open(db_session):
    _, t0, owner, senior, _ = _world(db_session)
    assert sweeper.tick_work(session=db_session, now=t0 + timedelta(seconds=10)) == (False, False)
    assert sweeper.tick_work(session=db_session, now=t0 + timedelta(seconds=200)) == (True, False)
    sos.raise_sos(session=db_session, user=owner, data=SosCreate(senior_id=senior.id), now=t0)
    assert sweeper.tick_work(session=db_session, now=t0 + timedelta(seconds=10)) == (False, True)


def test_a_quiet_tick_opens_no_write_transaction_and_a_busy_one_does_the_work(engine, monkeypatch):
    with write_session(engine) as s:
        directory, t0, *_ = _world(s)
    writes = _count_writes(monkeypatch)
    quiet = jobs.run_sweep(engine, directory, now=t0 + timedelta(seconds=10))
    assert quiet == {"expired": 0, "advanced": 0, "left": False, "sos_escalated": 0} and writes == []
    busy = jobs.run_sweep(engine, directory, now=t0 + timedelta(seconds=200))  # the first wave is over
    assert busy["expired"] > 0 and busy["advanced"] == 1  # expired, then advanced in the same tick
    assert len(writes) == 2  # the expiry and the advance


def test_an_open_sos_is_still_escalated_by_the_tick(engine, monkeypatch):
    with write_session(engine) as s:
        directory, t0, owner, senior, _ = _world(s)
        sos.raise_sos(session=s, user=owner, data=SosCreate(senior_id=senior.id), now=t0)
    writes = _count_writes(monkeypatch)
    assert jobs.run_sweep(engine, directory, now=t0 + timedelta(seconds=10))["sos_escalated"] == 0
    assert len(writes) == 1  # an alert is open: its check runs in a write transaction (nothing due yet)
    late = jobs.run_sweep(engine, directory, now=t0 + SOS_ACK_TIMEOUT + timedelta(seconds=1))
    assert late["sos_escalated"] == 1
