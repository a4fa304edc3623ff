"""Who is calling: bearer token or HttpOnly session cookie, with CSRF checks for cookie writes."""
from __future__ import annotations

from flask import current_app, g, request

from models.accounts import User
from models.types import utcnow
from server import db
from server.errors import Forbidden, Unauthorized
from server.security import csrf_matches
from server.services.accounts import user_for_token

COOKIE = "linli_session"
CSRF_COOKIE = "linli_csrf"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def presented_token() -> tuple[str | None, bool]:
    """The token this request carries and whether it came from the cookie."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None, False
    return request.cookies.get(COOKIE) or None, True


def current_user() -> User:
    """The signed-in user, or 401; a cookie-signed write without its CSRF token is 403."""
    if "user" in g:
        return g.user
    token, from_cookie = presented_token()
    user = user_for_token(session=db.session(), token=token, now=utcnow()) if token else None
    if user is None:
        raise Unauthorized()
    if from_cookie and request.method in UNSAFE:
        secret = current_app.config["SECRET_KEY"]
        if not csrf_matches(token, secret, request.headers.get(CSRF_HEADER)):
            raise Forbidden("缺少或错误的 CSRF 令牌 / Missing or wrong CSRF token", code="csrf_failed")
    g.user = user
    return user
