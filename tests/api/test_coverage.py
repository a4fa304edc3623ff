"""GET /center/coverage, /center/map and /center/siting: who may see them, what they say, and that
the cached coverage follows providers verified or blacklisted and seniors added, without a restart."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from dispatch.catalog import CareLevel, ProviderStatus, Role
from tests import factories as f

ENDPOINTS = ["/api/v1/center/coverage?service_type=meal", "/api/v1/center/map?service_type=meal",
             "/api/v1/center/siting?service_type=meal&k=2"]
SANCTION = {"reason": "多次爽约 / repeated no-shows"}


@pytest.fixture
def world(session):
    a = f.first_community(session)
    b = f.other_community(session, a)
    far = f.offset(a.lat, a.lon, north_km=20)
    near = f.senior(session, a, name="李桂英", care_level=CareLevel.MILD)
    remote = f.senior(session, a, name="张玉兰", lat=far[0], lon=far[1], care_level=CareLevel.SEVERE)
    elsewhere = f.senior(session, b, name="陈淑珍")
    covering = f.provider(session, a, services=("meal",), radius_km=5.0)
    waiting = f.provider(session, a, services=("meal",), lat=far[0], lon=far[1], radius_km=3.0,
                         status=ProviderStatus.PENDING)
    w = SimpleNamespace(a=a, b=b, far=far, near=near, remote=remote, elsewhere=elsewhere, covering=covering,
                        waiting=waiting, staff=f.bearer(session, f.staff(session, a)),
                        other_staff=f.bearer(session, f.staff(session, b)),
                        admin=f.bearer(session, f.staff(session, role=Role.ADMIN)))
    session.commit()
    return w


def coverage(client, headers, **params) -> dict:
    query = "&".join(f"{k}={v}" for k, v in {"service_type": "meal", **params}.items())
    r = client.get(f"/api/v1/center/coverage?{query}", headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_staff_see_their_communities_coverage_by_care_level_and_the_uncovered(client, world):
    body = coverage(client, world.staff)
    assert body["service_type"] == "meal" and body["computed_at"]
    assert body["total"] == {"seniors": 2, "covered": 1, "ratio": 0.5}
    [row] = body["communities"]
    assert (row["community_id"], row["seniors"], row["covered"]) == (world.a.id, 2, 1)
    assert row["by_care_level"]["mild"] == {"seniors": 1, "covered": 1, "ratio": 1.0}
    assert row["by_care_level"]["severe"] == {"seniors": 1, "covered": 0, "ratio": 0.0}
    assert row["by_care_level"]["moderate"] == {"seniors": 0, "covered": 0, "ratio": None}
    [gap] = body["uncovered"]
    assert (gap["senior_id"], gap["name"], gap["care_level"]) == (world.remote.id, "张玉兰", "severe")
    assert (gap["lat"], gap["lon"]) == (round(world.far[0], 3), round(world.far[1], 3))
    assert coverage(client, world.staff, service_type="bathing")["total"]["covered"] == 0


def test_the_uncovered_are_listed_neediest_first_then_by_id(client, session, world):
    for level in (None, CareLevel.INDEPENDENT, CareLevel.MODERATE, CareLevel.SEVERE):
        f.senior(session, world.a, lat=world.far[0], lon=world.far[1] + 0.01, care_level=level)
    session.commit()
    got = [(u["care_level"], u["senior_id"]) for u in coverage(client, world.staff)["uncovered"]]
    order = ["severe", "moderate", "mild", "independent", None]
    assert got == sorted(got, key=lambda x: (order.index(x[0]), x[1])) and len(got) == 5
    assert len(coverage(client, world.staff, uncovered_limit=2)["uncovered"]) == 2


def test_an_admin_sees_every_community_with_seniors(client, world):
    body = coverage(client, world.admin)
    assert body["total"]["seniors"] == 3
    assert {c["community_id"] for c in body["communities"]} == {world.a.id, world.b.id}
    assert coverage(client, world.admin, community_id=world.b.id)["total"]["seniors"] == 1


@pytest.mark.parametrize("url", ENDPOINTS)
def test_other_communities_are_not_found_for_staff(client, world, url):
    r = client.get(f"{url}&community_id={world.a.id}", headers=world.other_staff)
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    body = client.get(url, headers=world.other_staff).get_json()  # their own: community b's one senior
    if "total" in body:
        assert body["total"]["seniors"] == 1 and [c["community_id"] for c in body["communities"]] == [world.b.id]
    elif "seniors" in body:
        assert [s["id"] for s in body["seniors"]] == [world.elsewhere.id]
    else:
        assert sum(body["before"].values()) == 1.0  # one unassessed senior (weight 1), not a's 2 + 4


@pytest.mark.parametrize("role", [Role.SENIOR, Role.FAMILY, Role.PROVIDER, Role.ORG_ADMIN])
@pytest.mark.parametrize("url", ENDPOINTS)
def test_other_roles_are_refused(client, session, world, role, url):
    h = f.bearer(session, f.user(session, role))
    session.commit()
    r = client.get(url, headers=h)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    assert client.get(url).status_code == 401


@pytest.mark.parametrize("url", ["/api/v1/center/coverage", "/api/v1/center/coverage?service_type=cooking",
                                 "/api/v1/center/siting?service_type=meal&k=0",
                                 "/api/v1/center/siting?service_type=meal&radius_km=100"])
def test_bad_queries_are_422(client, world, url):
    assert client.get(url, headers=world.staff).status_code == 422


def test_coverage_follows_verification_sanctions_and_new_seniors_without_a_restart(client, world):
    assert coverage(client, world.staff)["total"]["covered"] == 1
    r = client.post(f"/api/v1/providers/{world.waiting.id}/verify", headers=world.staff)
    assert r.status_code == 200, r.get_json()
    assert coverage(client, world.staff)["total"] == {"seniors": 2, "covered": 2, "ratio": 1.0}
    r = client.post(f"/api/v1/providers/{world.covering.id}/blacklist", json=SANCTION, headers=world.staff)
    assert r.status_code == 200, r.get_json()
    body = coverage(client, world.staff)
    assert body["total"]["covered"] == 1 and [u["senior_id"] for u in body["uncovered"]] == [world.near.id]
    new = {"name": "赵冬梅", "address": "郴州市北湖区测试路1号", "lat": world.far[0], "lon": world.far[1] + 0.005,
           "birth_year": 1940, "community_id": world.a.id}
    r = client.post("/api/v1/seniors", json=new, headers=world.staff)
    assert r.status_code == 201, r.get_json()
    assert coverage(client, world.staff)["total"] == {"seniors": 3, "covered": 2, "ratio": round(2 / 3, 4)}
    far_away = {**new, "name": "钱春花", "lat": world.far[0] + 0.2}
    r = client.post("/api/v1/seniors", json=far_away, headers=world.staff)
    assert r.status_code == 201, r.get_json()
    moved = client.patch(f"/api/v1/seniors/{world.near.id}", json={"lat": world.far[0], "lon": world.far[1],
                                                                  "community_id": world.a.id},
                         headers=world.staff)
    assert moved.status_code == 200, moved.get_json()
    body = coverage(client, world.staff)
    assert body["total"]["seniors"] == 4 and body["total"]["covered"] == 3
    assert [u["name"] for u in body["uncovered"]] == ["钱春花"]


def test_the_map_shows_coarse_seniors_the_types_providers_and_communities(client, world):
    r = client.get("/api/v1/center/map?service_type=meal", headers=world.staff)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    seniors = {s["id"]: s for s in body["seniors"]}
    assert set(seniors) == {world.near.id, world.remote.id}
    assert seniors[world.near.id]["covered"] is True and seniors[world.remote.id]["covered"] is False
    assert seniors[world.remote.id]["lat"] == round(world.far[0], 3)
    providers = {p["id"]: p for p in body["providers"]}
    assert providers[world.covering.id]["radius_km"] == 5.0 and providers[world.waiting.id]["status"] == "pending"
    assert [c["id"] for c in body["communities"]] == [world.a.id] and body["truncated"] is False
    cleaning = client.get("/api/v1/center/map?service_type=cleaning", headers=world.staff).get_json()
    assert cleaning["providers"] == []


def test_siting_puts_a_station_by_the_uncovered_and_says_its_guarantee(client, world):
    r = client.get("/api/v1/center/siting?service_type=meal&k=2", headers=world.staff)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["k"], body["radius_km"]) == (2, 3.0) and "1 − 1/e" in body["guarantee"]
    assert body["before"] == {"covered_weight": 2.0, "uncovered_weight": 4.0}  # mild 2 covered, severe 4 not
    [site] = body["sites"]  # one uncovered senior: a second site gains nothing
    assert (site["community_id"], site["seniors"], site["weight"]) == (world.a.id, 1, 4.0)
    assert abs(site["lat"] - world.far[0]) < 0.01 and abs(site["lon"] - world.far[1]) < 0.01
    assert body["after"] == {"covered_weight": 6.0}
