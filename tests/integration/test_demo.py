"""demo.seed_demo on SQLite and PostgreSQL: deterministic, plausible, and never over existing data."""
from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from dispatch.catalog import ProviderStatus, Role
from models.accounts import User
from models.engine import write_session
from models.places import Community
from models.providers import Organization, Provider
from models.seniors import FamilyLink, Senior
from server.errors import Conflict
from server.services.demo import seed_demo
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
    assert (counts.seniors, counts.providers) == (60, 20)
    here = snapshot(db_session)
    assert len(here["seniors"]) == 60 and len(here["providers"]) == 20
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
    providers = db_session.exec(select(Provider)).all()
    assert all(p.status == ProviderStatus.VERIFIED for p in providers[:20])
    assert all(p.duty_lat is None or round(p.duty_lat, 3) == p.duty_lat for p in providers)
    assert all(not p.on_duty for p in providers if p.status != ProviderStatus.VERIFIED)
    admin = db_session.exec(select(User).where(User.role == Role.ADMIN)).one()
    assert admin.phone == "13800000000"


def test_it_refuses_a_database_that_already_has_seniors(db_session):
    seed_demo(session=db_session, seniors=60, providers=20, seed=1)
    with pytest.raises(Conflict) as caught:
        seed_demo(session=db_session, seniors=60, providers=20, seed=1)
    assert caught.value.code == "not_empty"
