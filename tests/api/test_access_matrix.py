"""Who may see and do what: every endpoint that takes an id × every role, both ways (no IDOR).

The world: communities A and B; staff_a answers for A, staff_b for B; an admin. Senior S1 in A
with their own account; senior S2, another account with their own profile. Family F1 linked to S1
with booking rights, F1_nobook linked without, F2 unlinked. Provider P1 in A, in organization O1
run by org_admin OA1; provider P2 another user; OA2 runs another organization.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from sqlmodel import func, select

from dispatch.catalog import ProviderStatus, Role
from models.audit import AuditLog
from models.providers import Organization, Provider
from models.seniors import Assessment, FamilyLink, Senior
from tests import factories as f

ROLES = ("senior_s1", "senior_s2", "family_f1", "family_f1_nobook", "family_f2", "provider_p1", "provider_p2",
         "org_admin_oa1", "org_admin_oa2", "staff_a", "staff_b", "admin")

# Distinctive values: if any of them shows up in a refusal, the refusal leaked the object.
S1_SECRETS = ("甄秘密", "秘密巷9号", "13912345678", "25.795117", "113.007881")
P1_SECRETS = ("服务者秘密", "25.791234", "113.004321")
O1_SECRETS = ("秘密养老中心", "秘密路1号", "SECRET-LIC-1", "25.796543")


@dataclass
class World:
    ids: dict[str, int] = field(default_factory=dict)
    headers: dict[str, dict] = field(default_factory=dict)
    phones: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def world(session) -> World:
    a = f.first_community(session)
    b = f.other_community(session, a)
    w = World()
    users = {
        "senior_s1": f.user(session, Role.SENIOR), "senior_s2": f.user(session, Role.SENIOR),
        "family_f1": f.user(session, Role.FAMILY), "family_f1_nobook": f.user(session, Role.FAMILY),
        "family_f2": f.user(session, Role.FAMILY),
        "provider_p1": f.user(session, Role.PROVIDER, name="服务者秘密"), "provider_p2": f.user(session, Role.PROVIDER),
        "org_admin_oa1": f.user(session, Role.ORG_ADMIN), "org_admin_oa2": f.user(session, Role.ORG_ADMIN),
        "staff_a": f.staff(session, a), "staff_b": f.staff(session, b), "admin": f.user(session, Role.ADMIN),
    }
    s1 = f.senior(session, a, owner=users["senior_s1"], name="甄秘密", lat=25.795117, lon=113.007881,
                  phone="13912345678")
    s1.address = "郴州市北湖区桔井社区秘密巷9号"
    s2 = f.senior(session, a, owner=users["senior_s2"], name="另一位老人")
    f.family_link(session, s1, users["family_f1"])
    f.family_link(session, s1, users["family_f1_nobook"], can_book=False)
    o1 = f.organization(session, users["org_admin_oa1"], a, license_no="SECRET-LIC-1")
    o1.name, o1.address, o1.lat, o1.status = "秘密养老中心", "郴州市北湖区秘密路1号", 25.796543, ProviderStatus.PENDING
    o2 = f.organization(session, users["org_admin_oa2"], a)
    p1 = f.provider(session, a, owner=users["provider_p1"], organization=o1, lat=25.791234, lon=113.004321,
                    status=ProviderStatus.PENDING)
    p2 = f.provider(session, a, owner=users["provider_p2"], organization=o2)
    session.add_all([s1, o1])
    session.flush()
    w.ids = {"s1": s1.id, "s2": s2.id, "p1": p1.id, "p2": p2.id, "o1": o1.id, "o2": o2.id, "a": a.id, "b": b.id}
    w.headers = {role: f.bearer(session, u) for role, u in users.items()}
    w.phones = {role: u.phone for role, u in users.items()}
    session.commit()
    return w


def _count(s, model, *where) -> int:
    return s.exec(select(func.count()).select_from(model).where(*where)).one()


def _senior_state(s, w: World):
    return (s.get(Senior, w.ids["s1"]).model_dump(), _count(s, FamilyLink, FamilyLink.senior_id == w.ids["s1"]),
            _count(s, Assessment, Assessment.senior_id == w.ids["s1"]), _count(s, AuditLog))


def _provider_state(s, w: World):
    return s.get(Provider, w.ids["p1"]).model_dump(), _count(s, AuditLog)


def _organization_state(s, w: World):
    return s.get(Organization, w.ids["o1"]).model_dump(), _count(s, AuditLog)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {s1}, {p1}, {o1} are filled from the world
    allowed: frozenset[str]
    ok: int
    secrets: tuple[str, ...]
    state: object  # what must not change when refused
    body: object = None  # a dict, or a callable of the world

    def url(self, w: World) -> str:
        return "/api/v1" + self.path.format(**w.ids)

    def json(self, w: World):
        return self.body(w) if callable(self.body) else self.body


STAFF = {"staff_a", "admin"}
ENDPOINTS = {
    "get_senior": Endpoint("GET", "/seniors/{s1}", frozenset({"senior_s1", "family_f1", "family_f1_nobook"} | STAFF),
                           200, S1_SECRETS, _senior_state),
    "patch_senior": Endpoint("PATCH", "/seniors/{s1}", frozenset({"senior_s1", "family_f1"} | STAFF), 200,
                             S1_SECRETS, _senior_state, {"name": "改过的名字", "living_alone": True}),
    "link_family": Endpoint("POST", "/seniors/{s1}/family", frozenset({"senior_s1"} | STAFF), 201, S1_SECRETS,
                            _senior_state, lambda w: {"phone": w.phones["family_f2"], "relation": "子女"}),
    "list_family": Endpoint("GET", "/seniors/{s1}/family",
                            frozenset({"senior_s1", "family_f1", "family_f1_nobook"} | STAFF), 200, S1_SECRETS,
                            _senior_state),
    "assess": Endpoint("POST", "/seniors/{s1}/assessments", frozenset(STAFF), 201, S1_SECRETS, _senior_state,
                       {"items": f.BARTHEL_FULL}),
    "list_assessments": Endpoint("GET", "/seniors/{s1}/assessments", frozenset(STAFF), 200, S1_SECRETS,
                                 _senior_state),
    "get_provider": Endpoint("GET", "/providers/{p1}", frozenset({"provider_p1", "org_admin_oa1"} | STAFF), 200,
                             P1_SECRETS, _provider_state),
    "verify_provider": Endpoint("POST", "/providers/{p1}/verify", frozenset(STAFF), 200, P1_SECRETS,
                                _provider_state),
    "suspend_provider": Endpoint("POST", "/providers/{p1}/suspend", frozenset(STAFF), 200, P1_SECRETS,
                                 _provider_state, {"reason": "多次投诉 / complaints"}),
    "blacklist_provider": Endpoint("POST", "/providers/{p1}/blacklist", frozenset(STAFF), 200, P1_SECRETS,
                                   _provider_state, {"reason": "虐待老人 / abuse"}),
    "get_organization": Endpoint("GET", "/organizations/{o1}", frozenset({"org_admin_oa1"} | STAFF), 200,
                                 O1_SECRETS, _organization_state),
    "verify_organization": Endpoint("POST", "/organizations/{o1}/verify", frozenset(STAFF), 200, O1_SECRETS,
                                    _organization_state),
}

DENIED = [pytest.param(name, role, id=f"{name}-{role}")
          for name, ep in ENDPOINTS.items() for role in ROLES if role not in ep.allowed]
ALLOWED = [pytest.param(name, role, id=f"{name}-{role}")
           for name, ep in ENDPOINTS.items() for role in ROLES if role in ep.allowed]


def _call(client, ep: Endpoint, w: World, role: str):
    kwargs = {"headers": w.headers[role]}
    body = ep.json(w)
    if body is not None:
        kwargs["json"] = body
    return client.open(ep.url(w), method=ep.method, **kwargs)


@pytest.mark.parametrize("name, role", DENIED)
def test_refused_reveals_nothing_and_changes_nothing(client, world, fresh, name, role):
    ep = ENDPOINTS[name]
    with fresh() as s:
        before = ep.state(s, world)
    r = _call(client, ep, world, role)
    assert r.status_code in (403, 404), (r.status_code, r.get_json())
    body = r.get_json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]) <= {"code", "message", "details"}
    text = json.dumps(body, ensure_ascii=False)
    for secret in ep.secrets:
        assert secret not in text
    with fresh() as s:
        assert ep.state(s, world) == before


@pytest.mark.parametrize("name, role", ALLOWED)
def test_permitted_roles_succeed(client, world, fresh, name, role):
    ep = ENDPOINTS[name]
    r = _call(client, ep, world, role)
    assert r.status_code == ep.ok, r.get_json()
    with fresh() as s:
        if name == "patch_senior":
            assert s.get(Senior, world.ids["s1"]).name == "改过的名字"
        elif name == "link_family":
            assert _count(s, FamilyLink, FamilyLink.senior_id == world.ids["s1"]) == 3
        elif name == "assess":
            assert s.get(Senior, world.ids["s1"]).care_level == "independent"
        elif name.endswith("_provider") and ep.method == "POST":
            assert s.get(Provider, world.ids["p1"]).status == r.get_json()["status"] != "pending"
        elif name == "verify_organization":
            assert s.get(Organization, world.ids["o1"]).status == ProviderStatus.VERIFIED


# Roles with no tie at all to the object: the answer must be the same as for an id that does not exist.
STRANGERS = {
    "get_senior": ("senior_s2", "family_f2", "provider_p1", "org_admin_oa1", "staff_b"),
    "list_family": ("senior_s2", "family_f2", "provider_p2", "org_admin_oa2", "staff_b"),
    "get_provider": ("provider_p2", "org_admin_oa2", "senior_s1", "family_f1", "staff_b"),
    "get_organization": ("org_admin_oa2", "provider_p2", "senior_s1", "staff_b"),
}


@pytest.mark.parametrize("name, role", [pytest.param(n, r, id=f"{n}-{r}") for n, rs in STRANGERS.items()
                                         for r in rs])
def test_hidden_object_looks_like_a_missing_one(client, world, name, role):
    ep = ENDPOINTS[name]
    hidden = _call(client, ep, world, role)
    missing = client.get("/api/v1" + ep.path.format(s1=999999, p1=999999, o1=999999), headers=world.headers[role])
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json() == missing.get_json()


def _audit(s, action: str, actor_role: str, w: World) -> int:
    from models.accounts import User

    actor = s.exec(select(User).where(User.phone == w.phones[actor_role])).one()
    return _count(s, AuditLog, AuditLog.action == action, AuditLog.actor_id == actor.id,
                  AuditLog.object_id == w.ids["s1"])


def test_staff_reads_of_profile_and_assessments_are_audited(client, world, fresh):
    assert client.get(f"/api/v1/seniors/{world.ids['s1']}", headers=world.headers["staff_a"]).status_code == 200
    r = client.get(f"/api/v1/seniors/{world.ids['s1']}/assessments", headers=world.headers["admin"])
    assert r.status_code == 200
    with fresh() as s:
        assert _audit(s, "senior.read_address", "staff_a", world) == 1
        assert _audit(s, "assessment.read", "admin", world) == 1


def test_a_senior_or_their_family_reading_the_profile_is_not_audited(client, world, fresh):
    with fresh() as s:
        before = _count(s, AuditLog)
    for role in ("senior_s1", "family_f1"):
        r = client.get(f"/api/v1/seniors/{world.ids['s1']}", headers=world.headers[role])
        assert r.status_code == 200 and r.get_json()["address"].endswith("秘密巷9号")
    with fresh() as s:
        assert _count(s, AuditLog) == before


def test_lists_only_show_what_the_caller_may_see(client, world):
    def ids(role, path="/api/v1/seniors"):
        r = client.get(path, headers=world.headers[role])
        assert r.status_code == 200
        return {row["id"] for row in r.get_json()}

    assert ids("senior_s1") == {world.ids["s1"]}
    assert ids("family_f1") == {world.ids["s1"]}
    assert ids("family_f2") == set()
    assert ids("staff_b") == set()
    assert {world.ids["s1"], world.ids["s2"]} <= ids("staff_a")
    assert ids("provider_p1") == set()
    assert ids("provider_p1", "/api/v1/providers") == {world.ids["p1"]}
    assert ids("org_admin_oa1", "/api/v1/providers") == {world.ids["p1"]}
    assert ids("staff_b", "/api/v1/providers") == set()
    assert {world.ids["p1"], world.ids["p2"]} <= ids("staff_a", "/api/v1/providers")
