"""services.seniors and services.assessments on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlmodel import func, select

from dispatch.catalog import CareLevel, Role
from models.audit import AuditLog
from models.seniors import (Assessment, AssessmentCreate, BarthelItems, FamilyLinkCreate, Senior, SeniorCreate,
                            SeniorUpdate)
from server.errors import Conflict, Forbidden, Invalid, NotFound
from server.gazetteer import known_places
from server.geocoding import OfflineGazetteer
from server.services import assessments, seniors
from tests import factories as f


@pytest.fixture
def geocoder(db_session):
    return OfflineGazetteer(known_places(db_session))


def new(**overrides) -> SeniorCreate:
    return SeniorCreate(**{"name": "李桂英", "address": "郴州市北湖区向阳社区3栋", "birth_year": 1942, **overrides})


def audits(session, action: str) -> int:
    return session.exec(select(func.count()).select_from(AuditLog).where(AuditLog.action == action)).one()


def test_a_senior_creates_their_profile_geocoded_once(db_session, geocoder):
    me = f.user(db_session, Role.SENIOR)
    db_session.commit()
    profile = seniors.create_senior(session=db_session, user=me, data=new(), geocoder=geocoder)
    assert (profile.lat, profile.lon) == (25.78248, 112.99747)  # 向阳社区, 北湖区
    row = db_session.get(Senior, profile.id)
    assert row.user_id == me.id and row.created_by == me.id
    assert audits(db_session, "senior.create") == 1
    with pytest.raises(Conflict):
        seniors.create_senior(session=db_session, user=me, data=new(lat=25.8, lon=113.0), geocoder=geocoder)


def test_an_unknown_address_creates_nothing(db_session, geocoder):
    fam = f.user(db_session, Role.FAMILY)
    db_session.commit()
    before = db_session.exec(select(func.count()).select_from(Senior)).one()
    with pytest.raises(Invalid) as caught:
        seniors.create_senior(session=db_session, user=fam, data=new(address="月球背面"), geocoder=geocoder)
    assert caught.value.code == "address_not_found"
    assert db_session.exec(select(func.count()).select_from(Senior)).one() == before


def test_family_created_profiles_link_the_family(db_session, geocoder):
    fam = f.user(db_session, Role.FAMILY)
    db_session.commit()
    profile = seniors.create_senior(session=db_session, user=fam, data=new(), geocoder=geocoder)
    links = seniors.list_family(session=db_session, user=fam, senior_id=profile.id)
    assert [(l.user_id, l.can_book, l.consent_basis) for l in links] == [(fam.id, True, "family_created")]


def test_staff_scope_for_creating_and_reading(db_session, geocoder):
    a = f.first_community(db_session)
    b = f.other_community(db_session, a)
    staff_a, staff_b = f.staff(db_session, a), f.staff(db_session, b)
    db_session.commit()
    profile = seniors.create_senior(session=db_session, user=staff_a, data=new(community_id=a.id, lat=a.lat, lon=a.lon),
                                    geocoder=geocoder)
    with pytest.raises(Forbidden):
        seniors.create_senior(session=db_session, user=staff_a, data=new(community_id=b.id), geocoder=geocoder)
    with pytest.raises(NotFound):
        seniors.get_senior(session=db_session, user=staff_b, senior_id=profile.id)
    assert audits(db_session, "senior.read_address") == 0
    assert seniors.get_senior(session=db_session, user=staff_a, senior_id=profile.id).address.endswith("3栋")
    assert audits(db_session, "senior.read_address") == 1
    assert [s.id for s in seniors.list_seniors(session=db_session, user=staff_b)] == []
    assert profile.id in [s.id for s in seniors.list_seniors(session=db_session, user=staff_a)]


def test_update_geocodes_a_new_address_and_keeps_the_rest(db_session, geocoder):
    a = f.first_community(db_session)
    me = f.user(db_session, Role.SENIOR)
    row = f.senior(db_session, a, owner=me, phone="13911112222")
    db_session.commit()
    updated = seniors.update_senior(session=db_session, user=me, senior_id=row.id, geocoder=geocoder,
                                    data=SeniorUpdate(address="郴州市苏仙区桔井社区2栋"))
    assert (updated.lat, updated.lon, updated.phone) == (25.801, 113.06561, "13911112222")
    with pytest.raises(Invalid):
        seniors.update_senior(session=db_session, user=me, senior_id=row.id, geocoder=geocoder,
                              data=SeniorUpdate(address=None))


def test_link_family_records_the_consent(db_session):
    a = f.first_community(db_session)
    me = f.user(db_session, Role.SENIOR)
    row = f.senior(db_session, a, owner=me)
    son, daughter = f.user(db_session, Role.FAMILY), f.user(db_session, Role.FAMILY)
    provider = f.user(db_session, Role.PROVIDER)
    staff = f.staff(db_session, a)
    db_session.commit()
    by_senior = seniors.link_family(session=db_session, user=me, senior_id=row.id,
                                    data=FamilyLinkCreate(phone=son.phone, relation="儿子"))
    by_staff = seniors.link_family(session=db_session, user=staff, senior_id=row.id,
                                   data=FamilyLinkCreate(phone=daughter.phone, relation="女儿", can_book=False))
    assert (by_senior.consent_basis, by_senior.can_book) == ("senior_self", True)
    assert (by_staff.consent_basis, by_staff.can_book) == ("staff_witnessed", False)
    with pytest.raises(Conflict):
        seniors.link_family(session=db_session, user=me, senior_id=row.id,
                            data=FamilyLinkCreate(phone=son.phone, relation="儿子"))
    with pytest.raises(Invalid):
        seniors.link_family(session=db_session, user=me, senior_id=row.id,
                            data=FamilyLinkCreate(phone=provider.phone, relation="儿子"))
    with pytest.raises(Forbidden):  # family may see the senior but not link others
        seniors.link_family(session=db_session, user=son, senior_id=row.id,
                            data=FamilyLinkCreate(phone=daughter.phone, relation="姐姐"))


def items(**changes) -> BarthelItems:
    return BarthelItems(**{**f.BARTHEL_FULL, **changes})


def test_assessments_set_the_care_level_and_reads_are_audited(db_session):
    a = f.first_community(db_session)
    row = f.senior(db_session, a)
    staff = f.staff(db_session, a)
    db_session.commit()
    first = assessments.create_assessment(session=db_session, user=staff, senior_id=row.id,
                                          data=AssessmentCreate(items=items()))
    assert (first.score, first.care_level) == (100, CareLevel.INDEPENDENT)
    second = assessments.create_assessment(session=db_session, user=staff, senior_id=row.id,
                                           data=AssessmentCreate(items=items(transfers=0, mobility=0, stairs=0,
                                                                             bathing=0)))
    assert (second.score, second.care_level) == (55, CareLevel.MODERATE)
    db_session.expire_all()
    assert db_session.get(Senior, row.id).care_level == CareLevel.MODERATE
    listed = assessments.list_assessments(session=db_session, user=staff, senior_id=row.id)
    assert [x.id for x in listed] == [second.id, first.id]
    assert audits(db_session, "assessment.read") == 1 and audits(db_session, "assessment.create") == 2


def test_an_invalid_assessment_names_the_items_and_changes_nothing(db_session):
    a = f.first_community(db_session)
    row = f.senior(db_session, a)
    staff = f.staff(db_session, a)
    db_session.commit()
    with pytest.raises(Invalid) as caught:
        assessments.create_assessment(session=db_session, user=staff, senior_id=row.id,
                                      data=AssessmentCreate(items=items(bathing=10, feeding=3)))
    assert caught.value.code == "invalid_assessment"
    assert sorted(d["field"] for d in caught.value.details) == ["items.bathing", "items.feeding"]
    db_session.rollback()
    assert db_session.exec(select(func.count()).select_from(Assessment)).one() == 0
    assert db_session.get(Senior, row.id).care_level is None


def test_only_staff_assess(db_session):
    a = f.first_community(db_session)
    me = f.user(db_session, Role.SENIOR)
    row = f.senior(db_session, a, owner=me)
    db_session.commit()
    with pytest.raises(Forbidden):
        assessments.create_assessment(session=db_session, user=me, senior_id=row.id,
                                      data=AssessmentCreate(items=items()))
