"""Password change, reset and disabling, and organization memberships, as use cases on SQLite and
PostgreSQL: the hash runs with the transaction ended first, and the writes still land together."""
from __future__ import annotations

import pytest
from sqlmodel import select

from dispatch.catalog import Role
from models.accounts import AuthToken, PasswordChange, PasswordReset
from models.events import Event
from models.providers import Membership, Provider
from models.types import utcnow
from server.errors import Invalid, NotFound
from server.services import accounts, memberships
from tests import factories as f

NEW = "blue-teapot-42"


def _open_tokens(session, user_id: int) -> int:
    return len(session.exec(select(AuthToken).where(AuthToken.user_id == user_id,
                                                    AuthToken.revoked_at.is_(None))).all())


def test_change_keeps_only_the_callers_sign_in(db_session):
    user = f.user(db_session, Role.FAMILY)
    mine = f.token_of(f.bearer(db_session, user))
    f.bearer(db_session, user)
    db_session.commit()
    with pytest.raises(Invalid) as weak:
        accounts.change_password(session=db_session, user=user, token=mine, now=utcnow(),
                                 data=PasswordChange(current_password=f.PASSWORD, new_password=user.phone))
    assert weak.value.code == "weak_password"
    db_session.rollback()
    ended = accounts.change_password(session=db_session, user=user, token=mine, now=utcnow(),
                                     data=PasswordChange(current_password=f.PASSWORD, new_password=NEW))
    assert ended.sessions_ended == 1 and _open_tokens(db_session, user.id) == 1
    assert accounts.user_for_token(session=db_session, token=mine, now=utcnow()).id == user.id
    assert accounts.login(session=db_session, phone=user.phone, password=NEW, now=utcnow(), token_days=1)[2].id == user.id


def test_staff_reset_ends_every_sign_in_and_strangers_get_404(db_session):
    home, elsewhere = f.community(db_session), f.community(db_session)
    staff = f.user(db_session, Role.CENTER_STAFF, communities=(home,))
    stranger = f.user(db_session, Role.CENTER_STAFF, communities=(elsewhere,))
    provider = f.provider(db_session, home)
    f.bearer(db_session, db_session.get(type(staff), provider.user_id))
    db_session.commit()
    with pytest.raises(NotFound):
        accounts.reset_password(session=db_session, actor=stranger, user_id=provider.user_id, now=utcnow(),
                                data=PasswordReset(new_password=NEW))
    db_session.rollback()
    ended = accounts.reset_password(session=db_session, actor=staff, user_id=provider.user_id, now=utcnow(),
                                    data=PasswordReset(new_password=NEW))
    assert ended.sessions_ended == 1 and _open_tokens(db_session, provider.user_id) == 0
    events = db_session.exec(select(Event.type).where(Event.user_id == provider.user_id)).all()
    assert "session_revoked" in events


def test_an_organization_admin_accepts_a_request_once(db_session):
    c = f.first_community(db_session)
    admin = f.user(db_session, Role.ORG_ADMIN)
    org = f.organization(db_session, admin, c)
    provider = f.provider(db_session, c)
    db_session.add(Membership(organization_id=org.id, provider_id=provider.id))
    db_session.commit()
    pending = memberships.list_members(session=db_session, user=admin, organization_id=org.id)
    assert [m.provider_id for m in pending] == [provider.id]
    member = memberships.decide_member(session=db_session, user=admin, organization_id=org.id,
                                       provider_id=provider.id, accept=True, now=utcnow())
    assert member.status == "accepted" and db_session.get(Provider, provider.id).organization_id == org.id
    accepted = memberships.list_members(session=db_session, user=admin, organization_id=org.id, status="accepted")
    assert [m.provider_id for m in accepted] == [provider.id]
