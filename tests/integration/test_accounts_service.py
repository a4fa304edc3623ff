"""services.accounts on SQLite and PostgreSQL: register, login, tokens, logout, admin-made accounts."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from dispatch.catalog import Role
from models.accounts import AuthToken, RegisterRequest, StaffCreate
from models.audit import AuditLog
from models.types import utcnow
from server import security
from server.errors import Conflict, Forbidden, Invalid, Unauthorized
from server.services import accounts
from tests import factories as f

PASSWORD = "secret-pass-1"


def register(session, phone: str = "13800138000", role: Role = Role.SENIOR):
    return accounts.register_user(session=session, data=RegisterRequest(phone=phone, password=PASSWORD,
                                                                        name="张三", role=role))


def test_register_then_login_and_find_the_user_by_token(db_session):
    user = register(db_session, "+86 138-0013-8000")
    assert (user.phone, user.role, user.community_ids) == ("13800138000", Role.SENIOR, [])
    now = utcnow()
    token, expires, found = accounts.login(session=db_session, phone="+8613800138000", password=PASSWORD, now=now,
                                           token_days=30)
    assert found.id == user.id and expires == now + timedelta(days=30)
    assert accounts.user_for_token(session=db_session, token=token, now=now).id == user.id
    stored = db_session.exec(select(AuthToken).where(AuthToken.user_id == user.id)).one()
    assert stored.token_hash == security.token_digest(token) != token  # only the digest is kept


def test_a_phone_registers_once(db_session):
    register(db_session)
    with pytest.raises(Conflict) as caught:
        register(db_session, role=Role.FAMILY)
    assert caught.value.code == "phone_taken"


def test_staff_roles_do_not_self_register(db_session):
    with pytest.raises(Forbidden):
        register(db_session, role=Role.CENTER_STAFF)


@pytest.mark.parametrize("phone, password", [("13800138000", "wrong-pass-1"), ("13900000000", PASSWORD)])
def test_login_with_a_wrong_password_or_unknown_phone_is_unauthorized(db_session, phone, password):
    register(db_session)
    with pytest.raises(Unauthorized) as caught:
        accounts.login(session=db_session, phone=phone, password=password, now=utcnow(), token_days=30)
    assert caught.value.code == "invalid_credentials"


def test_expired_revoked_and_unknown_tokens_give_none(db_session):
    user = register(db_session)
    now = utcnow()
    token, expires, _ = accounts.login(session=db_session, phone=user.phone, password=PASSWORD, now=now,
                                       token_days=1)
    assert accounts.user_for_token(session=db_session, token=token, now=expires - timedelta(seconds=1)) is not None
    assert accounts.user_for_token(session=db_session, token=token, now=expires) is None
    assert accounts.user_for_token(session=db_session, token=token, now=expires + timedelta(days=1)) is None
    assert accounts.user_for_token(session=db_session, token="never-issued", now=now) is None
    accounts.logout(session=db_session, token=token, now=now)
    assert accounts.user_for_token(session=db_session, token=token, now=now) is None
    accounts.logout(session=db_session, token=token, now=now)  # twice is harmless


def test_a_deactivated_user_is_signed_out(db_session):
    u = f.user(db_session, Role.FAMILY)
    headers = f.bearer(db_session, u)
    token = headers["Authorization"].removeprefix("Bearer ")
    db_session.commit()
    assert accounts.user_for_token(session=db_session, token=token, now=utcnow()).id == u.id
    u.is_active = False
    db_session.add(u)
    db_session.commit()
    assert accounts.user_for_token(session=db_session, token=token, now=utcnow()) is None


def test_an_admin_or_the_cli_creates_staff_with_communities(db_session):
    c = f.first_community(db_session)
    admin = f.user(db_session, Role.ADMIN)
    db_session.commit()
    staff = accounts.create_user(session=db_session, actor=admin, data=StaffCreate(
        phone="13700001111", password=PASSWORD, name="中心", role=Role.CENTER_STAFF, community_ids=[c.id]))
    assert staff.community_ids == [c.id] and staff.role == Role.CENTER_STAFF
    audit = db_session.exec(select(AuditLog).where(AuditLog.action == "user.create",
                                                   AuditLog.object_id == staff.id)).one()
    assert audit.actor_id == admin.id
    cli_made = accounts.create_user(session=db_session, actor=None, data=StaffCreate(
        phone="13700001112", password=PASSWORD, name="管理员", role=Role.ADMIN))
    assert cli_made.role == Role.ADMIN


@pytest.mark.parametrize("case", ["not-admin", "unknown-community", "communities-for-non-staff"])
def test_create_user_refusals(db_session, case):
    c = f.first_community(db_session)
    actor = f.user(db_session, Role.CENTER_STAFF if case == "not-admin" else Role.ADMIN, communities=(c,))
    db_session.commit()
    data = StaffCreate(phone="13700002222", password=PASSWORD, name="某人",
                       role=Role.ORG_ADMIN if case == "communities-for-non-staff" else Role.CENTER_STAFF,
                       community_ids=[2_000_000_000] if case == "unknown-community" else [c.id])
    with pytest.raises(Forbidden if case == "not-admin" else Invalid):
        accounts.create_user(session=db_session, data=data, actor=actor)
    db_session.rollback()
    assert db_session.exec(select(AuditLog).where(AuditLog.action == "user.create")).first() is None
