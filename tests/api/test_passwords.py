"""Passwords over HTTP: the rule on every way in, change by the user, reset by the community's staff,
disabling by an admin; each ends the right sign-ins (and, through the outbox, their sockets)."""
import pytest
from sqlmodel import select

from dispatch.catalog import Role
from models.audit import AuditLog
from models.events import Event
from tests import factories as f

GOOD = "blue-teapot-42"


@pytest.mark.parametrize("password", ["12345678", "password", "13800138555", "5201314a", "woaini1314", "aaaaaaaa",
                                      "short"])
def test_register_refuses_weak_passwords_with_the_rule(client, password):
    r = client.post("/api/v1/auth/register", json={"phone": "13800138555", "password": password, "name": "张三",
                                                    "role": "senior"})
    assert r.status_code == 422, r.get_json()
    error = r.get_json()["error"]
    assert error["code"] == "weak_password"
    assert "至少 8 位" in error["message"] and "phone number" in error["message"]
    assert error["details"][0]["field"] == "password"


def test_register_accepts_the_demo_password(client):
    r = client.post("/api/v1/auth/register", json={"phone": "13800138556", "password": "linli2018", "name": "张三",
                                                    "role": "senior"})
    assert r.status_code == 201


def test_admin_create_user_refuses_a_weak_password(client, session):
    headers = f.bearer(session, f.user(session, Role.ADMIN))
    session.commit()
    r = client.post("/api/v1/users", json={"phone": "13700001111", "password": "qq123456", "name": "中心",
                                           "role": "center_staff"}, headers=headers)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "weak_password"


def _sessions(session, user, n):
    headers = [f.bearer(session, user) for _ in range(n)]
    session.commit()
    return headers


def test_change_password_ends_the_other_sign_ins_only(client, session, fresh):
    u = f.user(session, Role.SENIOR)
    mine, other, third = _sessions(session, u, 3)
    wrong = client.post("/api/v1/auth/password", json={"current_password": "not-it-at-all", "new_password": GOOD},
                        headers=mine)
    assert wrong.status_code == 422 and wrong.get_json()["error"]["code"] == "wrong_password"
    weak = client.post("/api/v1/auth/password", json={"current_password": f.PASSWORD, "new_password": u.phone},
                       headers=mine)
    assert weak.status_code == 422 and weak.get_json()["error"]["code"] == "weak_password"
    assert client.get("/api/v1/me", headers=other).status_code == 200  # refusals end nothing
    r = client.post("/api/v1/auth/password", json={"current_password": f.PASSWORD, "new_password": GOOD},
                    headers=mine)
    assert r.status_code == 200 and r.get_json() == {"user_id": u.id, "sessions_ended": 2}
    assert client.get("/api/v1/me", headers=mine).status_code == 200
    assert client.get("/api/v1/me", headers=other).status_code == 401
    assert client.get("/api/v1/me", headers=third).status_code == 401
    assert client.post("/api/v1/auth/login", json={"phone": u.phone, "password": f.PASSWORD}).status_code == 401
    f.login(client, u.phone, GOOD)
    with fresh() as s:  # the relay turns this into socket disconnects
        event = s.exec(select(Event).where(Event.user_id == u.id, Event.type == "session_revoked")).one()
        assert event.payload["reason"] == "password_changed" and len(event.payload["token_ids"]) == 2


def test_change_password_needs_a_sign_in(client):
    r = client.post("/api/v1/auth/password", json={"current_password": "x", "new_password": GOOD})
    assert r.status_code == 401


def _community_world(session):
    home, elsewhere = f.community(session), f.community(session)
    staff = f.user(session, Role.CENTER_STAFF, communities=(home,))
    other_staff = f.user(session, Role.CENTER_STAFF, communities=(elsewhere,))
    senior_user = f.user(session, Role.SENIOR)
    senior = f.senior(session, home, owner=senior_user)
    family = f.user(session, Role.FAMILY)
    f.family_link(session, senior, family)
    provider = f.provider(session, home)
    admin = f.user(session, Role.ADMIN)
    return dict(home=home, staff=staff, other_staff=other_staff, senior=senior_user, family=family,
                provider_user=session.get(type(senior_user), provider.user_id), admin=admin)


@pytest.mark.parametrize("who", ["senior", "family", "provider_user"])
def test_staff_reset_a_password_of_their_community_ending_every_sign_in(client, session, fresh, who):
    w = _community_world(session)
    target = w[who]
    staff_headers, target_headers = f.bearer(session, w["staff"]), f.bearer(session, target)
    session.commit()
    r = client.post(f"/api/v1/users/{target.id}/password-reset", json={"new_password": GOOD}, headers=staff_headers)
    assert r.status_code == 200 and r.get_json() == {"user_id": target.id, "sessions_ended": 1}
    assert client.get("/api/v1/me", headers=target_headers).status_code == 401
    f.login(client, target.phone, GOOD)
    with fresh() as s:
        audit = s.exec(select(AuditLog).where(AuditLog.action == "user.password_reset")).one()
        assert (audit.actor_id, audit.object_id) == (w["staff"].id, target.id)
        revoked = s.exec(select(Event).where(Event.user_id == target.id, Event.type == "session_revoked")).one()
        assert revoked.payload["reason"] == "password_reset"


def test_reset_is_404_outside_the_callers_view_and_403_for_non_staff(client, session):
    w = _community_world(session)
    other, family, admin = (f.bearer(session, w[k]) for k in ("other_staff", "family", "admin"))
    staff = f.bearer(session, w["staff"])
    session.commit()
    body = {"new_password": GOOD}
    for target in ("senior", "family", "provider_user"):
        r = client.post(f"/api/v1/users/{w[target].id}/password-reset", json=body, headers=other)
        assert r.status_code == 404, target
    assert client.post("/api/v1/users/999999/password-reset", json=body, headers=staff).status_code == 404
    # staff and admins' accounts are an admin's to reset
    assert client.post(f"/api/v1/users/{w['other_staff'].id}/password-reset", json=body,
                       headers=staff).status_code == 404
    assert client.post(f"/api/v1/users/{w['senior'].id}/password-reset", json=body, headers=family).status_code == 403
    weak = client.post(f"/api/v1/users/{w['senior'].id}/password-reset", json={"new_password": "11111111"},
                       headers=staff)
    assert weak.status_code == 422 and weak.get_json()["error"]["code"] == "weak_password"
    for target in ("senior", "other_staff"):
        r = client.post(f"/api/v1/users/{w[target].id}/password-reset", json=body, headers=admin)
        assert r.status_code == 200, target


def test_an_admin_disables_an_account_and_its_sign_ins_end(client, session, fresh):
    w = _community_world(session)
    admin, staff, target = f.bearer(session, w["admin"]), f.bearer(session, w["staff"]), f.bearer(session, w["senior"])
    session.commit()
    assert client.post(f"/api/v1/users/{w['senior'].id}/disable", headers=staff).status_code == 403
    assert client.post("/api/v1/users/999999/disable", headers=admin).status_code == 404
    assert client.post(f"/api/v1/users/{w['admin'].id}/disable", headers=admin).status_code == 409
    r = client.post(f"/api/v1/users/{w['senior'].id}/disable", headers=admin)
    assert r.status_code == 200 and r.get_json()["user"]["id"] == w["senior"].id
    assert client.get("/api/v1/me", headers=target).status_code == 401
    assert client.post("/api/v1/auth/login", json={"phone": w["senior"].phone,
                                                   "password": f.PASSWORD}).status_code == 401
    with fresh() as s:
        revoked = s.exec(select(Event).where(Event.user_id == w["senior"].id, Event.type == "session_revoked")).one()
        assert revoked.payload["reason"] == "account_disabled"
