"""The provider directory: the SQL bounding-box fallback and the geo index agree; changes reach the index."""
import random
import time

from sqlalchemy import update as sa_update
from sqlmodel import select

from dispatch.catalog import ProviderStatus, ServiceType
from models.engine import write_session
from models.providers import Counter, Provider
from models.types import utcnow
from server.steps.directory import ProviderDirectory, bump_revision, sql_candidates
from tests import factories as f


def _scatter(session, n=120, seed=7):
    rng = random.Random(seed)
    com = f.first_community(session)
    statuses = [ProviderStatus.VERIFIED] * 8 + [ProviderStatus.PENDING, ProviderStatus.BLACKLISTED]
    for _ in range(n):
        services = rng.sample([s.value for s in ServiceType], rng.randint(1, 3))
        p = f.provider(session, com, lat=com.lat + rng.uniform(-0.15, 0.15), lon=com.lon + rng.uniform(-0.15, 0.15),
                       services=services, radius_km=rng.uniform(2, 12), status=rng.choice(statuses))
        bump_revision(session, p)
    session.commit()
    return com, rng


def test_sql_fallback_returns_what_the_index_returns(db_session):
    com, rng = _scatter(db_session)
    directory = ProviderDirectory(db_session.get_bind())
    now = utcnow()
    for _ in range(40):
        lat, lon = com.lat + rng.uniform(-0.2, 0.2), com.lon + rng.uniform(-0.2, 0.2)
        service = rng.choice(list(ServiceType))
        from_index = directory.candidates(service, lat, lon, now)
        from_sql = [pid for pid, _ in sql_candidates(db_session, service, lat, lon, now)]
        assert from_sql == from_index
        assert directory.candidates(service, lat, lon, now, limit=5) == from_sql[:5]


def test_a_blacklisting_reaches_an_already_loaded_index(db_session):
    com, _ = _scatter(db_session, n=30)
    directory = ProviderDirectory(db_session.get_bind())
    now = utcnow()
    nearby = directory.candidates(ServiceType.MEAL, com.lat, com.lon, now)
    assert nearby
    victim = db_session.get(Provider, nearby[0])
    victim.status = ProviderStatus.BLACKLISTED
    bump_revision(db_session, victim)
    db_session.commit()
    assert nearby[0] not in directory.candidates(ServiceType.MEAL, com.lat, com.lon, now)


def test_a_new_process_dispatches_from_sql_while_its_index_warms(engine):
    """On a real engine: the warming thread needs connections of its own (the PostgreSQL fixture
    shares one connection with the test, which a second thread must not use)."""
    with write_session(engine) as session:
        com, _ = _scatter(session, n=30)
        now = utcnow()
        expected = [pid for pid, _ in sql_candidates(session, ServiceType.MEAL, com.lat, com.lon, now)]
    directory = ProviderDirectory(engine, warm="background")
    assert not directory.ready
    assert directory.candidates(ServiceType.MEAL, com.lat, com.lon, now) == expected  # SQL; warming starts
    deadline = time.monotonic() + 10  # the warming thread shares the test's connection: let it finish
    while not directory.ready and time.monotonic() < deadline:
        time.sleep(0.01)
    assert directory.ready
    assert directory.candidates(ServiceType.MEAL, com.lat, com.lon, now) == expected  # the index now


def test_a_server_warms_its_index_before_it_listens(engine, monkeypatch):
    """warm() loads every provider and builds the trees: the first booking neither waits for them
    nor takes the SQL fallback."""
    import server.steps.directory as directory_module

    monkeypatch.setattr(directory_module, "_LOAD_CHUNK", 7)  # several turns for 30 providers
    turns = []
    monkeypatch.setattr(directory_module, "give_way", lambda: turns.append(1))
    with write_session(engine) as session:
        com, _ = _scatter(session, n=30)
        now = utcnow()
        expected = [pid for pid, _ in sql_candidates(session, ServiceType.MEAL, com.lat, com.lon, now)]
    directory = ProviderDirectory(engine, warm="background")
    directory.warm(now)
    assert directory.ready and directory.index.trees_built == 1 and len(turns) == 30 // 7
    monkeypatch.setattr(directory_module, "sql_candidates", None)  # would fail if called
    assert directory.candidates(ServiceType.MEAL, com.lat, com.lon, now) == expected
    assert directory.index.trees_built == 1


def test_local_changes_are_seen_at_once_others_within_the_check_interval(db_session, monkeypatch):
    com, _ = _scatter(db_session, n=20)
    directory = ProviderDirectory(db_session.get_bind(), check_every=60.0)
    now = utcnow()
    nearby = directory.candidates(ServiceType.MEAL, com.lat, com.lon, now)
    first = db_session.get(Provider, nearby[0])
    first.status = ProviderStatus.SUSPENDED
    bump_revision(db_session, first)  # a change committed by this process
    db_session.commit()
    assert nearby[0] not in directory.candidates(ServiceType.MEAL, com.lat, com.lon, now)
    # Another process's change: the counter and the row move without this process committing.
    second = nearby[1]
    db_session.exec(sa_update(Counter).where(Counter.name == "provider").values(value=Counter.value + 1))
    db_session.exec(sa_update(Provider).where(Provider.id == second)
                    .values(status=ProviderStatus.SUSPENDED.value,
                            revision=select(Counter.value).where(Counter.name == "provider").scalar_subquery()))
    db_session.info.pop("linli.provider_changed", None)
    db_session.commit()
    assert second in directory.candidates(ServiceType.MEAL, com.lat, com.lon, now)  # not checked yet
    clock = time.monotonic() + 61
    monkeypatch.setattr(time, "monotonic", lambda: clock)
    assert second not in directory.candidates(ServiceType.MEAL, com.lat, com.lon, now)
