"""demo.seed_demo on SQLite and PostgreSQL: deterministic, plausible, and never over existing data."""
from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from dispatch.catalog import ProviderStatus, Role, ServiceType
from dispatch.lifecycle import RequestStatus
from models.accounts import User
from models.engine import write_session
from models.places import Community
from models.providers import Organization, Provider
from models.requests import RequestCreate
from models.seniors import FamilyLink, Senior
from models.types import utcnow
from server.errors import Conflict
from server.services.demo import seed_demo, standing_of
from server.services.requests import create_request
from server.steps.directory import ProviderDirectory
from tests.conftest import sqlite_engine


def snapshot(session: Session) -> dict:
    seniors = session.exec(select(Senior).order_by(Senior.id)).all()
    providers = session.exec(select(Provider).order_by(Provider.id)).all()
    return {"seniors": [(s.name, s.lat, s.lon, s.address, s.birth_year, s.care_level) for s in seniors],
            "providers": [(p.name, p.base_lat, p.base_lon, p.status, tuple(p.services)) for p in providers]}


def seed_elsewhere(tmp_path, name: str, seed: int) -> dict:
    (tmp_path / name).mkdir()
    engine = sqlite_engine(tmp_path / name)
    with write_session(engine) as session:
        seed_demo(session=session, seniors=60, providers=20, seed=seed)
        result = snapshot(session)
    engine.dispose()
    return result


def test_the_same_seed_gives_the_same_data(db_session, tmp_path):
    counts = seed_demo(session=db_session, seniors=60, providers=20, seed=7)
    here = snapshot(db_session)
    assert counts.seniors == len(here["seniors"]) == 60
    # The duty roster for seniors 1-60 alone is more than 20 providers: it is made whole.
    assert counts.providers == len(here["providers"]) > 20
    assert seed_elsewhere(tmp_path, "again", seed=7) == here
    assert seed_elsewhere(tmp_path, "other", seed=8) != here


def test_the_demo_is_plausible(db_session):
    counts = seed_demo(session=db_session, seniors=60, providers=20, seed=2018)
    districts = set(db_session.exec(select(Community.district)).all())
    assert counts.staff == len(districts) == 11
    assert counts.organizations == db_session.exec(select(func.count()).select_from(Organization)).one() == 22
    seniors = db_session.exec(select(Senior)).all()
    assert all(24.5 < s.lat < 27.5 and 112 < s.lon < 114.5 for s in seniors)  # around Chenzhou
    assert all(s.address.startswith("郴州市") for s in seniors)
    assert db_session.exec(select(func.count()).select_from(FamilyLink)).one() == 60
    providers = db_session.exec(select(Provider).order_by(Provider.id)).all()
    roster = [p for p in providers if p.service_radius_km in (5.0, 12.0) and p.on_duty]
    assert len(roster) % 2 == 0 and providers[:len(roster)] == roster
    assert all(p.status == ProviderStatus.VERIFIED for p in roster)
    for number, p in enumerate(providers[len(roster):], start=len(roster) + 1):
        assert (p.status, p.on_duty) == standing_of(number)
    assert all(p.duty_lat is None or round(p.duty_lat, 3) == p.duty_lat for p in providers)
    assert all(not p.on_duty for p in providers if p.status != ProviderStatus.VERIFIED)
    admin = db_session.exec(select(User).where(User.role == Role.ADMIN)).one()
    assert admin.phone == "13800000000"


def test_it_refuses_a_database_that_already_has_seniors(db_session):
    seed_demo(session=db_session, seniors=60, providers=20, seed=1)
    with pytest.raises(Conflict) as caught:
        seed_demo(session=db_session, seniors=60, providers=20, seed=1)
    assert caught.value.code == "not_empty"


def test_every_senior_a_demo_login_books_for_is_offered_every_service(db_session):
    """Seniors 1-50 (own login) and 1-100 (family logins) booking any service as soon as possible
    get offers, not an escalation. The first 100 seniors of seed 2018 are those of `make run`'s
    2,000 (they are drawn first); the providers are the duty roster alone, so it covers them."""
    seed_demo(session=db_session, seniors=100, providers=1, seed=2018)
    directory = ProviderDirectory(db_session.get_bind())
    now = utcnow()
    seniors = db_session.exec(select(Senior).order_by(Senior.id)).all()
    bookers = {link.senior_id: link.user_id for link in db_session.exec(select(FamilyLink)).all()}
    outcomes = {}
    for number, senior in enumerate(seniors, start=1):
        booker = db_session.get(User, senior.user_id or bookers[senior.id])
        assert booker.phone == (f"139{number:08d}" if number <= 50 else f"137{number:08d}")
        for service in ServiceType:
            booked = create_request(session=db_session, user=booker, directory=directory, now=now,
                                    data=RequestCreate(senior_id=senior.id, service_type=service))
            outcomes[number, service.value] = booked.status
    assert len(outcomes) == 100 * len(ServiceType)
    assert {k: v for k, v in outcomes.items() if v != RequestStatus.OFFERING} == {}


def test_the_demo_has_a_month_of_history_all_of_it_over(db_session):
    """The console's statistics, subsidies and complaints have something to show after `make run`:
    past visits (some flagged), ratings, SOS alerts and complaints; nothing active, nothing in the
    future, nothing for seniors 1-50 (the README's walk books for senior 1)."""
    from datetime import timedelta

    from models.complaints import Complaint
    from models.requests import Rating, ServiceRequest
    from models.sos import SosAlert

    now = utcnow()
    counts = seed_demo(session=db_session, seniors=300, providers=60, seed=2018, now=now)
    visits = db_session.exec(select(ServiceRequest)).all()
    assert counts.past_visits == len(visits) > 300
    assert {v.status for v in visits} == {RequestStatus.COMPLETED, RequestStatus.CANCELLED}
    assert all(now - timedelta(days=32) < v.created_at < now for v in visits)
    assert all((v.completed_at or v.cancelled_at) < now for v in visits)
    assert min(v.senior_id for v in visits) > 50
    done = [v for v in visits if v.status == RequestStatus.COMPLETED]
    assert all(v.provider_id and v.checkin_at < v.checkout_at == v.completed_at for v in done)
    assert any(v.escalated_at for v in done) and any(v.checkin_flagged for v in done)
    assert db_session.exec(select(func.count()).select_from(Rating)).one() > 50
    assert sorted(c.upheld for c in db_session.exec(select(Complaint)).all()
                  if c.upheld is not None) == [False, True]
    alerts = db_session.exec(select(SosAlert)).all()
    assert alerts and all(a.status == "resolved" and a.acked_at < a.resolved_at < now for a in alerts)


def test_the_history_is_the_same_whatever_the_hour_of_seeding(tmp_path):
    """The README's walk names the request ids after the history: they must not depend on the hour."""
    from datetime import timedelta

    from models.requests import ServiceRequest

    made = []
    for hours in (0, 7, 19):
        (tmp_path / str(hours)).mkdir()
        engine = sqlite_engine(tmp_path / str(hours))
        with write_session(engine) as session:
            now = utcnow().replace(hour=0, minute=5) + timedelta(hours=hours)
            seed_demo(session=session, seniors=200, providers=40, seed=2018, now=now)
            made.append([(v.senior_id, v.service_type, v.status, v.provider_id)
                         for v in session.exec(select(ServiceRequest).order_by(ServiceRequest.id)).all()])
        engine.dispose()
    assert made[0] == made[1] == made[2] and made[0]
