"""Accounts: register, sign in and out, who am I, passwords changed and reset, and accounts made or
disabled by an admin."""

from flask import make_response
from pydantic import BaseModel

from models.accounts import (LoginRequest, LoginResponse, PasswordChange, PasswordReset, RegisterRequest,
                             SessionsEnded, StaffCreate, UserEnvelope)
from models.types import Id, utcnow
from server import db
from server.api import BEARER, blueprint, reply
from server.auth import COOKIE, CSRF_COOKIE, current_user, presented_token
from server.limits import exact_limiter, login_phone_key, user_key
from server.security import csrf_for
from server.services import accounts
from server.state import state

api = blueprint("accounts", "账号", "Accounts", signed_in=False)  # register and login are public; the rest declare BEARER


def _login_phone_limit() -> str:
    return state().settings.login_limit_phone


def _login_addr_limit() -> str:
    return state().settings.login_limit_addr


class Empty(BaseModel):
    pass


class UserPath(BaseModel):
    user_id: Id


@api.post("/auth/register", responses={201: UserEnvelope})
def register(body: RegisterRequest):
    """Register as a senior, a family member or a provider."""
    return reply({"user": accounts.register_user(session=db.session(), data=body).model_dump(mode="json")}, 201)


@api.post("/auth/login", responses={200: LoginResponse})
@exact_limiter.limit(_login_addr_limit)
@exact_limiter.limit(_login_phone_limit, key_func=login_phone_key)
def login(body: LoginRequest):
    """Sign in: sets the HttpOnly session cookie and returns the same token as a bearer token."""
    settings = state().settings
    session = db.session()
    token, expires, user = accounts.login(session=session, phone=body.phone, password=body.password,
                                          now=utcnow(), token_days=settings.token_days)
    csrf = csrf_for(token, settings.secret_key)
    response = make_response(reply(LoginResponse(token=token, csrf_token=csrf, expires_at=expires,
                                                 user=accounts.user_public(session, user))))
    common = dict(expires=expires, secure=settings.cookie_secure, samesite="Lax", path="/")
    response.set_cookie(COOKIE, token, httponly=True, **common)
    response.set_cookie(CSRF_COOKIE, csrf, httponly=False, **common)  # read by the PWA, echoed in a header
    return response


@api.post("/auth/logout", responses={204: Empty}, security=BEARER)
def logout():
    """Sign out: the token is revoked, the cookies cleared."""
    current_user()
    token, _ = presented_token()
    accounts.logout(session=db.session(), token=token, now=utcnow())
    response = make_response("", 204)
    response.delete_cookie(COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@api.get("/me", responses={200: UserEnvelope}, security=BEARER)
def me():
    """The signed-in user."""
    return reply({"user": accounts.get_me(session=db.session(), user=current_user()).model_dump(mode="json")})


@api.post("/users", responses={201: UserEnvelope}, security=BEARER)
def create_user(body: StaffCreate):
    """An admin creates any account, staff included."""
    user = accounts.create_user(session=db.session(), data=body, actor=current_user())
    return reply({"user": user.model_dump(mode="json")}, 201)


@api.post("/auth/password", responses={200: SessionsEnded}, security=BEARER)
@exact_limiter.limit(_login_phone_limit, key_func=user_key)  # guessing the current password counts as logins do
def change_password(body: PasswordChange):
    """Change my password: my other sign-ins end and their sockets are disconnected."""
    user = current_user()
    token, _ = presented_token()
    return reply(accounts.change_password(session=db.session(), user=user, token=token, data=body, now=utcnow()))


@api.post("/users/<int:user_id>/password-reset", responses={200: SessionsEnded}, security=BEARER)
def reset_password(path: UserPath, body: PasswordReset):
    """Staff of the user's community (or an admin) set a new password; all the user's sign-ins end."""
    return reply(accounts.reset_password(session=db.session(), actor=current_user(), user_id=path.user_id,
                                         data=body, now=utcnow()))


@api.post("/users/<int:user_id>/disable", responses={200: UserEnvelope}, security=BEARER)
def disable_user(path: UserPath):
    """An admin disables an account: it cannot sign in, and all its sign-ins end."""
    user = accounts.disable_user(session=db.session(), actor=current_user(), user_id=path.user_id, now=utcnow())
    return reply({"user": user.model_dump(mode="json")})
