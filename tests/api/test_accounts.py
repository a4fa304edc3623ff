"""Accounts over HTTP: register, login (cookie + bearer), CSRF, logout, /me, admin-made staff."""
from dispatch.catalog import Role
from tests import factories as f


def test_register_then_login_with_bearer_and_me(client):
    r = client.post("/api/v1/auth/register", json={"phone": "+86 138 0013 8000", "password": "secret-pass",
                                                    "name": "张三", "role": "family"})
    assert r.status_code == 201
    assert r.get_json()["user"]["phone"] == "13800138000"
    headers = f.login(client, "13800138000", "secret-pass")
    me = client.get("/api/v1/me", headers=headers).get_json()["user"]
    assert me["role"] == "family" and me["name"] == "张三"
    assert "password_hash" not in str(me)


def test_register_refuses_staff_roles_and_duplicate_phones(client):
    body = {"phone": "13800138001", "password": "secret-pass", "name": "李四", "role": "center_staff"}
    r = client.post("/api/v1/auth/register", json=body)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "role_not_self_service"
    body["role"] = "senior"
    assert client.post("/api/v1/auth/register", json=body).status_code == 201
    r = client.post("/api/v1/auth/register", json=body)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "phone_taken"


def test_wrong_password_is_401_for_known_and_unknown_phones(client, session):
    u = f.user(session, Role.SENIOR)
    session.commit()
    for phone in (u.phone, "13999999999"):
        r = client.post("/api/v1/auth/login", json={"phone": phone, "password": "wrong-password"})
        assert r.status_code == 401
        assert r.get_json()["error"]["code"] == "invalid_credentials"


def test_cookie_auth_needs_csrf_for_writes(client, session):
    u = f.user(session, Role.SENIOR)
    session.commit()
    r = client.post("/api/v1/auth/login", json={"phone": u.phone, "password": f.PASSWORD})
    csrf = r.get_json()["csrf_token"]
    cookie = r.headers.getlist("Set-Cookie")
    assert any("linli_session=" in c and "HttpOnly" in c and "SameSite=Lax" in c for c in cookie)
    assert client.get("/api/v1/me").status_code == 200  # reads ride on the cookie alone
    body = {"name": "王秀兰", "address": "郴州市北湖区向阳社区1栋", "birth_year": 1940}
    denied = client.post("/api/v1/seniors", json=body)
    assert denied.status_code == 403 and denied.get_json()["error"]["code"] == "csrf_failed"
    wrong = client.post("/api/v1/seniors", json=body, headers={"X-CSRF-Token": "0" * 40})
    assert wrong.status_code == 403
    ok = client.post("/api/v1/seniors", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201


def test_logout_revokes_the_token(client, session):
    u = f.user(session, Role.FAMILY)
    session.commit()
    headers = f.login(client, u.phone)
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    r = client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "not_authenticated"


def test_admin_creates_staff_with_communities_others_cannot(client, session):
    admin = f.user(session, Role.ADMIN)
    staff_like = f.user(session, Role.CENTER_STAFF)
    c = f.first_community(session)
    session.commit()
    body = {"phone": "13700001111", "password": "secret-pass", "name": "中心工作人员",
            "role": "center_staff", "community_ids": [c.id]}
    r = client.post("/api/v1/users", json=body, headers=f.login(client, staff_like.phone))
    assert r.status_code == 403
    r = client.post("/api/v1/users", json=body, headers=f.login(client, admin.phone))
    assert r.status_code == 201 and r.get_json()["user"]["community_ids"] == [c.id]
