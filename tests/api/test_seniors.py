"""Seniors over HTTP: profiles by self, family and staff; geocoding; edits; family links; assessments."""
from __future__ import annotations

import pytest
from sqlmodel import func, select

from dispatch.assessment import BARTHEL_ITEMS
from dispatch.catalog import Role
from dispatch.geo import great_circle_km
from models.places import Community
from models.seniors import Assessment, FamilyLink, Senior
from tests import factories as f

XIANGYANG_BEIHU = (25.78248, 112.99747)  # 向阳社区, 北湖区 (models/reference/chenzhou_communities.csv)
JUJING_SUXIAN = (25.801, 113.06561)  # 桔井社区, 苏仙区 — 北湖区 has a 桔井社区 too


def body(**overrides) -> dict:
    values = {"name": "李桂英", "address": "郴州市北湖区向阳社区3栋2单元", "birth_year": 1942}
    values.update(overrides)
    return values


def seniors_count(fresh) -> int:
    with fresh() as s:
        return s.exec(select(func.count()).select_from(Senior)).one()


def community_at(fresh, name: str, district: str) -> Community:
    with fresh() as s:
        return s.exec(select(Community).where(Community.name == name, Community.district == district)).one()


def assert_error(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.get_json()
    error = r.get_json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    if code:
        assert error["code"] == code
    return error


def test_a_senior_creates_one_profile_of_their_own(client, session, fresh):
    me = f.user(session, Role.SENIOR)
    h = f.bearer(session, me)
    session.commit()
    r = client.post("/api/v1/seniors", json=body(lat=25.79, lon=113.01), headers=h)
    assert r.status_code == 201, r.get_json()
    with fresh() as s:
        assert s.get(Senior, r.get_json()["id"]).user_id == me.id
    again = client.post("/api/v1/seniors", json=body(name="第二份", lat=25.79, lon=113.01), headers=h)
    assert_error(again, 409, "profile_exists")
    assert seniors_count(fresh) == 1


def test_family_creates_a_profile_and_is_linked_with_booking_rights(client, session):
    fam = f.user(session, Role.FAMILY)
    h = f.bearer(session, fam)
    session.commit()
    r = client.post("/api/v1/seniors", json=body(), headers=h)
    assert r.status_code == 201, r.get_json()
    links = client.get(f"/api/v1/seniors/{r.get_json()['id']}/family", headers=h).get_json()
    assert [(l["user_id"], l["can_book"], l["consent_basis"]) for l in links] == [(fam.id, True, "family_created")]
    assert client.get(f"/api/v1/seniors/{r.get_json()['id']}", headers=h).status_code == 200


def test_staff_create_in_their_communities_only(client, session, fresh):
    a = f.first_community(session)
    b = f.other_community(session, a)
    h = f.bearer(session, f.staff(session, a))
    session.commit()
    r = client.post("/api/v1/seniors", json=body(community_id=a.id, lat=a.lat, lon=a.lon), headers=h)
    assert r.status_code == 201 and r.get_json()["community_id"] == a.id
    out = client.post("/api/v1/seniors", json=body(community_id=b.id, lat=b.lat, lon=b.lon), headers=h)
    assert_error(out, 403, "community_out_of_scope")
    # Without community_id the nearest community decides; it is still out of scope.
    near_b = client.post("/api/v1/seniors", json=body(lat=b.lat, lon=b.lon), headers=h)
    assert_error(near_b, 403, "community_out_of_scope")
    assert seniors_count(fresh) == 1


def test_providers_and_org_admins_cannot_create_seniors(client, session, fresh):
    for role in (Role.PROVIDER, Role.ORG_ADMIN):
        h = f.bearer(session, f.user(session, role))
        session.commit()
        assert_error(client.post("/api/v1/seniors", json=body(), headers=h), 403)
    assert seniors_count(fresh) == 0


@pytest.mark.parametrize("address, expected", [
    ("郴州市北湖区向阳社区3栋2单元", XIANGYANG_BEIHU),
    ("湖南省郴州市苏仙区桔井社区7栋", JUJING_SUXIAN),
])
def test_an_address_without_a_position_is_geocoded_offline(client, session, address, expected):
    h = f.bearer(session, f.user(session, Role.FAMILY))
    session.commit()
    r = client.post("/api/v1/seniors", json=body(address=address), headers=h)
    assert r.status_code == 201, r.get_json()
    got = r.get_json()
    assert great_circle_km(got["lat"], got["lon"], *expected) < 0.5
    assert got["address"] == address


def test_the_geocoded_position_picks_the_community(client, session, fresh):
    h = f.bearer(session, f.user(session, Role.ADMIN))
    session.commit()
    r = client.post("/api/v1/seniors", json=body(address="郴州市苏仙区桔井社区7栋"), headers=h)
    assert r.status_code == 201
    assert r.get_json()["community_id"] == community_at(fresh, "桔井社区", "苏仙区").id


def test_a_community_name_shared_by_districts_needs_the_district(client, session, fresh):
    h = f.bearer(session, f.user(session, Role.FAMILY))
    session.commit()
    error = assert_error(client.post("/api/v1/seniors", json=body(address="郴州市桔井社区7栋"), headers=h), 422,
                         "address_not_found")
    assert [d["field"] for d in error["details"]] == ["address"] and "district" in error["message"]
    assert seniors_count(fresh) == 0


def test_an_address_that_cannot_be_found_is_422(client, session, fresh):
    h = f.bearer(session, f.user(session, Role.FAMILY))
    session.commit()
    r = client.post("/api/v1/seniors", json=body(address="火星基地第九区"), headers=h)
    error = assert_error(r, 422, "address_not_found")
    assert [d["field"] for d in error["details"]] == ["address"]
    assert seniors_count(fresh) == 0


@pytest.mark.parametrize("position, field", [({"lat": 25.79}, "lon"), ({"lon": 113.01}, "lat")])
def test_half_a_position_is_422(client, session, fresh, position, field):
    h = f.bearer(session, f.user(session, Role.FAMILY))
    session.commit()
    error = assert_error(client.post("/api/v1/seniors", json=body(**position), headers=h), 422)
    assert field in [d["field"] for d in error["details"]]
    assert seniors_count(fresh) == 0


def test_the_list_shows_summaries_without_address_phone_or_position(client, session):
    a = f.first_community(session)
    h = f.bearer(session, f.staff(session, a))
    f.senior(session, a, name="张一", phone="13911112222")
    f.senior(session, a, name="张二")
    session.commit()
    rows = client.get("/api/v1/seniors", headers=h).get_json()
    assert sorted(r["name"] for r in rows) == ["张一", "张二"]
    for row in rows:
        assert not {"address", "lat", "lon", "phone", "emergency_contacts"} & set(row)
        assert {"id", "name", "birth_year", "community_id", "care_level"} <= set(row)
    assert client.get(f"/api/v1/seniors?community_id={a.id + 1000}", headers=h).get_json() == []


def test_patch_changes_only_what_is_sent(client, session, fresh):
    a = f.first_community(session)
    me = f.user(session, Role.SENIOR)
    s = f.senior(session, a, owner=me, living_alone=False)
    h = f.bearer(session, me)
    session.commit()
    r = client.patch(f"/api/v1/seniors/{s.id}", json={"living_alone": True, "phone": "+86 139 0000 1234"}, headers=h)
    assert r.status_code == 200, r.get_json()
    got = r.get_json()
    assert got["living_alone"] is True and got["phone"] == "13900001234"
    assert (got["name"], got["address"], got["birth_year"]) == (s.name, s.address, s.birth_year)
    with fresh() as db:
        assert db.get(Senior, s.id).living_alone is True


def test_patch_a_new_address_moves_the_position(client, session):
    a = f.first_community(session)
    me = f.user(session, Role.SENIOR)
    s = f.senior(session, a, owner=me)
    h = f.bearer(session, me)
    session.commit()
    r = client.patch(f"/api/v1/seniors/{s.id}", json={"address": "郴州市北湖区向阳社区8栋"}, headers=h)
    assert r.status_code == 200, r.get_json()
    assert great_circle_km(r.get_json()["lat"], r.get_json()["lon"], *XIANGYANG_BEIHU) < 0.5
    lost = client.patch(f"/api/v1/seniors/{s.id}", json={"address": "不存在的地方"}, headers=h)
    assert_error(lost, 422, "address_not_found")


def test_patch_a_move_to_another_community_follows_the_new_position(client, session, fresh):
    a = community_at(fresh, "向阳社区", "北湖区")
    jujing = community_at(fresh, "桔井社区", "苏仙区")
    me = f.user(session, Role.SENIOR)
    s = f.senior(session, session.get(Community, a.id), owner=me)
    h = f.bearer(session, me)
    session.commit()
    r = client.patch(f"/api/v1/seniors/{s.id}", json={"address": "郴州市苏仙区桔井社区7栋"}, headers=h)
    assert r.status_code == 200 and r.get_json()["community_id"] == jujing.id, r.get_json()
    r = client.patch(f"/api/v1/seniors/{s.id}", json={"lat": XIANGYANG_BEIHU[0], "lon": XIANGYANG_BEIHU[1]},
                     headers=h)
    assert r.status_code == 200 and r.get_json()["community_id"] == a.id
    with fresh() as db:
        assert db.get(Senior, s.id).community_id == a.id


def test_staff_move_a_senior_by_address_only_into_their_communities(client, session, fresh):
    a = session.get(Community, community_at(fresh, "向阳社区", "北湖区").id)
    jujing = session.get(Community, community_at(fresh, "桔井社区", "苏仙区").id)
    s = f.senior(session, a)
    h_narrow = f.bearer(session, f.staff(session, a))
    h_wide = f.bearer(session, f.staff(session, a, jujing))
    session.commit()
    move = {"address": "郴州市苏仙区桔井社区7栋"}
    assert_error(client.patch(f"/api/v1/seniors/{s.id}", json=move, headers=h_narrow), 403, "community_out_of_scope")
    with fresh() as db:
        assert (db.get(Senior, s.id).community_id, db.get(Senior, s.id).address) == (a.id, s.address)
    r = client.patch(f"/api/v1/seniors/{s.id}", json=move, headers=h_wide)
    assert r.status_code == 200 and r.get_json()["community_id"] == jujing.id


@pytest.mark.parametrize("change", [{"name": None}, {"address": None}, {"birth_year": None}, {"lat": 25.7},
                                    {"birth_year": 1800}, {"unknown": 1}])
def test_patch_refuses_bad_values_and_changes_nothing(client, session, fresh, change):
    a = f.first_community(session)
    me = f.user(session, Role.SENIOR)
    s = f.senior(session, a, owner=me)
    h = f.bearer(session, me)
    session.commit()
    with fresh() as db:
        before = db.get(Senior, s.id).model_dump()
    assert_error(client.patch(f"/api/v1/seniors/{s.id}", json=change, headers=h), 422)
    with fresh() as db:
        assert db.get(Senior, s.id).model_dump() == before


def test_only_staff_move_a_senior_between_communities(client, session):
    a = f.first_community(session)
    other = session.exec(select(Community).where(Community.district == a.district, Community.id != a.id)).first()
    far = f.other_community(session, a)
    me = f.user(session, Role.SENIOR)
    s = f.senior(session, a, owner=me)
    h_senior = f.bearer(session, me)
    h_staff = f.bearer(session, f.staff(session, a, other))
    session.commit()
    assert_error(client.patch(f"/api/v1/seniors/{s.id}", json={"community_id": other.id}, headers=h_senior), 403)
    assert_error(client.patch(f"/api/v1/seniors/{s.id}", json={"community_id": far.id}, headers=h_staff), 403,
                 "community_out_of_scope")
    r = client.patch(f"/api/v1/seniors/{s.id}", json={"community_id": other.id}, headers=h_staff)
    assert r.status_code == 200 and r.get_json()["community_id"] == other.id


def test_a_senior_links_family_themself(client, session, fresh):
    a = f.first_community(session)
    me = f.user(session, Role.SENIOR)
    s = f.senior(session, a, owner=me)
    fam = f.user(session, Role.FAMILY, name="儿子")
    h = f.bearer(session, me)
    session.commit()
    r = client.post(f"/api/v1/seniors/{s.id}/family", json={"phone": fam.phone, "relation": "儿子"}, headers=h)
    assert r.status_code == 201, r.get_json()
    got = r.get_json()
    assert (got["user_id"], got["consent_basis"], got["can_book"], got["name"]) == (fam.id, "senior_self", True, "儿子")
    dup = client.post(f"/api/v1/seniors/{s.id}/family", json={"phone": fam.phone, "relation": "儿子"}, headers=h)
    assert_error(dup, 409, "already_linked")
    with fresh() as db:
        assert db.exec(select(func.count()).select_from(FamilyLink)).one() == 1
    # The linked family member now sees the senior.
    assert client.get(f"/api/v1/seniors/{s.id}", headers=f.login(client, fam.phone)).status_code == 200


def test_staff_link_family_as_witnesses(client, session):
    a = f.first_community(session)
    s = f.senior(session, a)
    fam = f.user(session, Role.FAMILY)
    h = f.bearer(session, f.staff(session, a))
    session.commit()
    r = client.post(f"/api/v1/seniors/{s.id}/family", json={"phone": fam.phone, "relation": "女儿", "can_book": False},
                    headers=h)
    assert r.status_code == 201
    assert (r.get_json()["consent_basis"], r.get_json()["can_book"]) == ("staff_witnessed", False)


@pytest.mark.parametrize("phone_of", ["unknown", "provider"])
def test_linking_needs_a_registered_family_account(client, session, fresh, phone_of):
    a = f.first_community(session)
    me = f.user(session, Role.SENIOR)
    s = f.senior(session, a, owner=me)
    phone = "13700009999" if phone_of == "unknown" else f.user(session, Role.PROVIDER).phone
    h = f.bearer(session, me)
    session.commit()
    r = client.post(f"/api/v1/seniors/{s.id}/family", json={"phone": phone, "relation": "儿子"}, headers=h)
    error = assert_error(r, 422, "family_user_not_found")
    assert error["details"][0]["field"] == "phone"
    with fresh() as db:
        assert db.exec(select(func.count()).select_from(FamilyLink)).one() == 0


def items_for(score: int) -> dict[str, int]:
    """Valid Barthel items adding up to score (a multiple of 5)."""
    items = {name: max(allowed) for name, allowed in BARTHEL_ITEMS.items()}
    for name in items:
        while sum(items.values()) > score and items[name] > 0:
            items[name] -= 5
    assert sum(items.values()) == score
    return items


@pytest.mark.parametrize("score, level", [(100, "independent"), (95, "mild"), (65, "mild"), (60, "moderate"),
                                          (45, "moderate"), (40, "severe"), (0, "severe")])
def test_an_assessment_scores_and_sets_the_care_level(client, session, fresh, score, level):
    a = f.first_community(session)
    s = f.senior(session, a)
    staff = f.staff(session, a)
    h = f.bearer(session, staff)
    session.commit()
    r = client.post(f"/api/v1/seniors/{s.id}/assessments", json={"items": items_for(score)}, headers=h)
    assert r.status_code == 201, r.get_json()
    assert (r.get_json()["score"], r.get_json()["care_level"]) == (score, level)
    assert r.get_json()["assessor_id"] == staff.id
    assert client.get(f"/api/v1/seniors/{s.id}", headers=h).get_json()["care_level"] == level
    listed = client.get(f"/api/v1/seniors/{s.id}/assessments", headers=h).get_json()
    assert [x["score"] for x in listed] == [score]


def test_the_latest_assessment_decides_and_lists_newest_first(client, session):
    a = f.first_community(session)
    s = f.senior(session, a)
    h = f.bearer(session, f.staff(session, a))
    session.commit()
    for score in (100, 40):
        assert client.post(f"/api/v1/seniors/{s.id}/assessments", json={"items": items_for(score)},
                           headers=h).status_code == 201
    assert client.get(f"/api/v1/seniors/{s.id}", headers=h).get_json()["care_level"] == "severe"
    assert [x["score"] for x in client.get(f"/api/v1/seniors/{s.id}/assessments", headers=h).get_json()] == [40, 100]


@pytest.mark.parametrize("items, fields", [
    ({**f.BARTHEL_FULL, "bathing": 10}, ["items.bathing"]),
    ({**f.BARTHEL_FULL, "transfers": 7, "stairs": -5}, ["items.stairs", "items.transfers"]),
])
def test_a_score_off_the_scale_is_invalid_assessment(client, session, fresh, items, fields):
    a = f.first_community(session)
    s = f.senior(session, a)
    h = f.bearer(session, f.staff(session, a))
    session.commit()
    error = assert_error(client.post(f"/api/v1/seniors/{s.id}/assessments", json={"items": items}, headers=h),
                         422, "invalid_assessment")
    assert sorted(d["field"] for d in error["details"]) == fields
    with fresh() as db:
        assert db.exec(select(func.count()).select_from(Assessment)).one() == 0
        assert db.get(Senior, s.id).care_level is None


@pytest.mark.parametrize("items", [
    {k: v for k, v in f.BARTHEL_FULL.items() if k != "stairs"},
    {**f.BARTHEL_FULL, "singing": 5},
    {**f.BARTHEL_FULL, "feeding": "ten"},
])
def test_missing_unknown_or_mistyped_items_are_422(client, session, items):
    a = f.first_community(session)
    s = f.senior(session, a)
    h = f.bearer(session, f.staff(session, a))
    session.commit()
    assert_error(client.post(f"/api/v1/seniors/{s.id}/assessments", json={"items": items}, headers=h), 422)
