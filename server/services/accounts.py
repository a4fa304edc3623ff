"""Registration, sign-in and sign-out, and accounts made by an admin or the CLI."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from dispatch.catalog import SELF_REGISTER_ROLES, Role
from models.accounts import AuthToken, RegisterRequest, StaffCommunity, StaffCreate, User, UserPublic
from models.places import Community
from server import security
from server.errors import Conflict, Forbidden, Unauthorized, field_error
from server.steps import audit


def user_public(session: Session, user: User) -> UserPublic:
    """The public view of a user, with the communities a staff member answers for."""
    ids = session.exec(select(StaffCommunity.community_id).where(StaffCommunity.user_id == user.id)).all()
    return UserPublic(id=user.id, phone=user.phone, name=user.name, role=user.role,
                      locale=user.locale, community_ids=sorted(ids))


def register_user(*, session: Session, data: RegisterRequest) -> UserPublic:
    """Create a senior, family or provider account (staff accounts come from an admin)."""
    if data.role not in SELF_REGISTER_ROLES:
        raise Forbidden("工作人员账号由管理员创建 / Staff accounts are created by an admin",
                        code="role_not_self_service")
    user = _insert_user(session, data.phone, data.password, data.name, data.role, data.locale)
    session.commit()
    return user_public(session, user)


def create_user(*, session: Session, data: StaffCreate, actor: User | None) -> UserPublic:
    """Create any account, staff included, linked to its communities (admin or CLI)."""
    if actor is not None and actor.role != Role.ADMIN:
        raise Forbidden()
    known = set(session.exec(select(Community.id).where(Community.id.in_(data.community_ids))).all())
    missing = sorted(set(data.community_ids) - known)
    if missing:
        raise field_error("community_ids", f"未知社区 / unknown communities: {missing}")
    if data.community_ids and data.role != Role.CENTER_STAFF:
        raise field_error("community_ids", "只有社区工作人员关联社区 / only center_staff have communities")
    user = _insert_user(session, data.phone, data.password, data.name, data.role, None)
    for community_id in sorted(known):
        session.add(StaffCommunity(user_id=user.id, community_id=community_id))
    audit.record(session, actor, "user.create", "user", user.id, role=str(data.role))
    session.commit()
    return user_public(session, user)


def _insert_user(session: Session, phone: str, password: str, name: str, role: Role,
                 locale: str | None) -> User:
    if session.exec(select(User.id).where(User.phone == phone)).first() is not None:
        raise Conflict("该手机号已注册 / This phone number is already registered", code="phone_taken")
    user = User(phone=phone, name=name, role=role, password_hash=security.hash_password(password),
                locale=locale or "zh-CN")
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict("该手机号已注册 / This phone number is already registered", code="phone_taken")
    return user


def login(*, session: Session, phone: str, password: str, now: datetime,
          token_days: int) -> tuple[str, datetime, User]:
    """Check the password and open a sign-in; returns (token, expires_at, user)."""
    user = session.exec(select(User).where(User.phone == phone.removeprefix("+86"))).first()
    ok = security.verify_password(user.password_hash if user else None, password)
    if not ok or not user.is_active:
        raise Unauthorized("手机号或密码错误 / Wrong phone number or password", code="invalid_credentials")
    token = security.new_token()
    expires = now + timedelta(days=token_days)
    session.add(AuthToken(token_hash=security.token_digest(token), user_id=user.id,
                          created_at=now, expires_at=expires))
    session.commit()
    return token, expires, user


def logout(*, session: Session, token: str, now: datetime) -> None:
    """Revoke the sign-in behind token (cookie and bearer alike)."""
    row = session.exec(select(AuthToken).where(AuthToken.token_hash == security.token_digest(token))).first()
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
    session.commit()


# Built once: every authenticated request runs it, and building a statement costs more than running it.
_SIGNED_IN_USER = (select(User).join(AuthToken, AuthToken.user_id == User.id)
                   .where(AuthToken.token_hash == bindparam("digest"), AuthToken.revoked_at.is_(None),
                          AuthToken.expires_at > bindparam("now"), User.is_active.is_(True)))


def user_for_token(*, session: Session, token: str, now: datetime) -> User | None:
    """The active user signed in with token, or None when it is unknown, revoked or expired."""
    return session.exec(_SIGNED_IN_USER, params={"digest": security.token_digest(token), "now": now}).first()
