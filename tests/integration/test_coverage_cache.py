"""The coverage cache follows committed changes: provider sanctions and verification (revisions),
seniors created, moved or assessed (the "senior" counter), on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from dispatch.catalog import ProviderStatus, ServiceType
from models.providers import Counter
from models.seniors import AssessmentCreate, BarthelItems, SeniorCreate, SeniorUpdate
from server.services import assessments, providers, seniors
from server.steps.coverage import LEVELS, SENIOR_COUNTER, SENIOR_SLACK, CoverageCache
from tests import factories as f

MEAL = ServiceType.MEAL


def covered(cache: CoverageCache) -> dict[int, bool]:
    view = cache.seniors(MEAL, None)
    return dict(zip(view.ids.tolist(), view.covered.tolist()))


@pytest.fixture
def world(db_session):
    s = db_session
    c = f.first_community(s)
    far = f.offset(c.lat, c.lon, north_km=30)
    w = {"s": s, "c": c, "far": far, "staff": f.staff(s, c),
         "near": f.senior(s, c), "remote": f.senior(s, c, lat=far[0], lon=far[1]),
         "p": f.provider(s, c, services=("meal",), radius_km=4.0),
         "q": f.provider(s, c, services=("meal",), lat=far[0], lon=far[1], status=ProviderStatus.PENDING)}
    s.commit()
    w["cache"] = CoverageCache(s.get_bind())
    return w


@pytest.mark.own_schema  # the cache loads every senior and provider in the database
def test_sanctions_and_verification_reach_the_cache(world):
    s, cache = world["s"], world["cache"]
    assert covered(cache) == {world["near"].id: True, world["remote"].id: False}
    providers.set_provider_status(session=s, user=world["staff"], provider_id=world["q"].id,
                                  status=ProviderStatus.VERIFIED, reason=None)
    assert covered(cache) == {world["near"].id: True, world["remote"].id: True}
    providers.set_provider_status(session=s, user=world["staff"], provider_id=world["p"].id,
                                  status=ProviderStatus.SUSPENDED, reason="暂停接单 / paused")
    assert covered(cache) == {world["near"].id: False, world["remote"].id: True}


@pytest.mark.own_schema
def test_seniors_created_moved_and_assessed_reach_the_cache(world):
    s, cache, c, far = world["s"], world["cache"], world["c"], world["far"]
    covered(cache)
    new = seniors.create_senior(session=s, user=world["staff"], geocoder=None, data=SeniorCreate(
        name="赵冬梅", address="郴州市北湖区测试路1号", lat=c.lat, lon=c.lon, birth_year=1941, community_id=c.id))
    assert covered(cache)[new.id] is True
    seniors.update_senior(session=s, user=world["staff"], senior_id=new.id, geocoder=None,
                          data=SeniorUpdate(lat=far[0], lon=far[1], community_id=c.id))
    assert covered(cache)[new.id] is False
    items = BarthelItems(**{**f.BARTHEL_FULL, "feeding": 0, "bathing": 0, "transfers": 0, "mobility": 0})
    made = assessments.create_assessment(session=s, user=world["staff"], senior_id=new.id,
                                         data=AssessmentCreate(items=items))
    view = cache.seniors(MEAL, {c.id})
    assert LEVELS[view.level[view.ids.tolist().index(new.id)]] == made.care_level


@pytest.mark.own_schema
def test_a_senior_stamped_before_the_watermark_but_committed_after_is_still_caught(world):
    s, cache, c = world["s"], world["cache"], world["c"]
    covered(cache)
    late = f.senior(s, c, lat=c.lat + 0.001)
    late.updated_at = cache.refreshed_at - SENIOR_SLACK + timedelta(seconds=5)  # stamped, then a slow commit
    counter = s.exec(select(Counter).where(Counter.name == SENIOR_COUNTER)).first() or Counter(name=SENIOR_COUNTER)
    counter.value += 1
    s.add_all([late, counter])
    s.commit()
    assert covered(cache)[late.id] is True
