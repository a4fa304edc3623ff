"""Registration, sign-in and sign-out, passwords changed and reset, and accounts made or disabled by
an admin or the CLI.

A password hash or check takes most of a second of a core. It runs with no transaction open
(`_outside_transaction`): a POST's transaction on SQLite holds the database's write lock, which
every other writer would wait on meanwhile.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from dispatch.catalog import SELF_REGISTER_ROLES, Role
from models.accounts import (AuthToken, PasswordChange, PasswordReset, RegisterRequest, SessionsEnded,
                             StaffCommunity, StaffCreate, User, UserPublic)
from models.events import Event
from models.places import Community
from server import security
from server.errors import Conflict, Forbidden, NotFound, Unauthorized, field_error
from server.passwords import check_password
from server.steps import audit
from server.steps.access import account_for, staff_communities
from server.steps.sessions import revoke_sessions, revoke_token


def user_public(session: Session, user: User) -> UserPublic:
    """The public view of a user, with the communities a staff member answers for."""
    ids = session.exec(select(StaffCommunity.community_id).where(StaffCommunity.user_id == user.id)).all()
    return UserPublic(id=user.id, phone=user.phone, name=user.name, role=user.role,
                      locale=user.locale, community_ids=sorted(ids))


def get_me(*, session: Session, user: User) -> UserPublic:
    """The signed-in user, with the newest event addressed to them (0 if none) as a replay start."""
    mine = Event.user_id == user.id
    if user.role.is_staff:
        scope = staff_communities(session, user)
        mine = mine | (Event.community_id.is_not(None) if scope is None else Event.community_id.in_(scope or {-1}))
    newest = session.exec(select(func.max(Event.id)).where(mine)).one()
    return user_public(session, user).model_copy(update={"last_event_id": newest or 0})


def register_user(*, session: Session, data: RegisterRequest) -> UserPublic:
    """Create a senior, family or provider account (staff accounts come from an admin)."""
    if data.role not in SELF_REGISTER_ROLES:
        raise Forbidden("工作人员账号由管理员创建 / Staff accounts are created by an admin",
                        code="role_not_self_service")
    check_password(data.password, phone=data.phone)
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
    check_password(data.password, phone=data.phone)
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
    password_hash = _outside_transaction(session, security.hash_password, password)
    user = User(phone=phone, name=name, role=role, password_hash=password_hash, locale=locale or "zh-CN")
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
    # An unknown phone is checked against a dummy hash: the same cost, so timing tells nothing.
    ok = _outside_transaction(session, security.verify_password, user.password_hash if user else None, password)
    if not ok or not user.is_active:
        raise Unauthorized("手机号或密码错误 / Wrong phone number or password", code="invalid_credentials")
    token = security.new_token()
    expires = now + timedelta(days=token_days)
    session.add(AuthToken(token_hash=security.token_digest(token), user_id=user.id,
                          created_at=now, expires_at=expires))
    session.commit()
    return token, expires, user


def change_password(*, session: Session, user: User, token: str, data: PasswordChange,
                    now: datetime) -> SessionsEnded:
    """The signed-in user changes their password; their other sign-ins end, sockets included."""
    user_id, phone, stored = user.id, user.phone, user.password_hash
    if not _outside_transaction(session, security.verify_password, stored, data.current_password):
        raise field_error("current_password", "当前密码不对 / The current password is wrong", code="wrong_password")
    check_password(data.new_password, phone=phone, field="new_password")
    password_hash = _outside_transaction(session, security.hash_password, data.new_password)
    account = session.get(User, user_id)
    account.password_hash = password_hash
    session.add(account)
    ended = revoke_sessions(session, user_id, reason="password_changed", except_token=token, now=now)
    audit.record(session, account, "user.password_change", "user", user_id, sessions_ended=len(ended))
    session.commit()
    return SessionsEnded(user_id=user_id, sessions_ended=len(ended))


def reset_password(*, session: Session, actor: User, user_id: int, data: PasswordReset,
                   now: datetime) -> SessionsEnded:
    """Staff of the user's community (or an admin) set a new password for a user who forgot theirs;
    every sign-in of that user ends, sockets included. Audited."""
    target = account_for(session=session, user=actor, user_id=user_id)
    check_password(data.new_password, phone=target.phone, field="new_password")
    password_hash = _outside_transaction(session, security.hash_password, data.new_password)
    target = session.get(User, user_id)
    if target is None:  # gone while the hash ran
        raise NotFound()
    target.password_hash = password_hash
    session.add(target)
    ended = revoke_sessions(session, user_id, reason="password_reset", now=now)
    audit.record(session, actor, "user.password_reset", "user", user_id, sessions_ended=len(ended))
    session.commit()
    return SessionsEnded(user_id=user_id, sessions_ended=len(ended))


def disable_user(*, session: Session, actor: User, user_id: int, now: datetime) -> UserPublic:
    """An admin disables an account: it can no longer sign in, and every sign-in of it ends."""
    if actor.role != Role.ADMIN:
        raise Forbidden()
    target = session.get(User, user_id)
    if target is None:
        raise NotFound()
    if target.id == actor.id:
        raise Conflict("不能停用自己的账号 / You cannot disable your own account", code="cannot_disable_self")
    target.is_active = False
    session.add(target)
    ended = revoke_sessions(session, user_id, reason="account_disabled", now=now)
    audit.record(session, actor, "user.disable", "user", user_id, sessions_ended=len(ended))
    session.commit()
    return user_public(session, target)


def _outside_transaction(session: Session, work, *args):
    """work(*args), a password hash or check, with the session's transaction ended first (only reads
    may come before it): on SQLite a POST's transaction holds the write lock, which no one else
    should wait on for the length of a hash. Loaded objects reload on their next use."""
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("a password hash must not run inside a transaction with changes")
        session.rollback()
    return work(*args)


def logout(*, session: Session, token: str, now: datetime) -> None:
    """Revoke the sign-in behind token (cookie and bearer alike); its open sockets are disconnected
    after commit."""
    revoke_token(session, token, reason="signed_out", now=now)
    session.commit()


# Built once: every authenticated request runs it, and building a statement costs more than running it.
_SIGNED_IN_USER = (select(User).join(AuthToken, AuthToken.user_id == User.id)
                   .where(AuthToken.token_hash == bindparam("digest"), AuthToken.revoked_at.is_(None),
                          AuthToken.expires_at > bindparam("now"), User.is_active.is_(True)))


def user_for_token(*, session: Session, token: str, now: datetime) -> User | None:
    """The active user signed in with token, or None when it is unknown, revoked or expired."""
    return session.exec(_SIGNED_IN_USER, params={"digest": security.token_digest(token), "now": now}).first()
