"""Socket.IO connect: authenticate (token or cookie), join rooms, replay what was missed; each
socket is remembered with its sign-in, and ends with it (server.sockets.sessions)."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import NamedTuple

from flask_socketio import ConnectionRefusedError
from sqlalchemy import bindparam, select
from werkzeug.http import parse_cookie

from dispatch.catalog import Role
from models.accounts import AuthToken, StaffCommunity, User
from models.driver import DriverQuery, driver_connection
from models.places import Community
from models.types import utcnow
from server.auth import COOKIE
from server.security import token_digest
from server.sockets import socketio
from server.sockets.sessions import SESSIONS_KEY
from server.state import state

log = logging.getLogger(__name__)
MAX_EVENT_ID = 2**63 - 1  # event ids are BIGINT

_USERS, _TOKENS = User.__table__.c, AuthToken.__table__.c
# The same conditions as every authenticated request (server.services.accounts.user_for_token), read
# as four columns on the tables, on the driver's connection (models/driver.py): built once, no ORM entity.
_SIGNED_IN = DriverQuery(select(_USERS.id, _USERS.role, _TOKENS.id.label("token_id"), _TOKENS.expires_at)
                         .select_from(AuthToken.__table__.join(User.__table__, _TOKENS.user_id == _USERS.id))
                         .where(_TOKENS.token_hash == bindparam("digest"), _TOKENS.revoked_at.is_(None),
                                _TOKENS.expires_at > bindparam("now"), _USERS.is_active.is_(True)))
_STAFF_ROOMS = DriverQuery(select(StaffCommunity.__table__.c.community_id).where(
    StaffCommunity.__table__.c.user_id == bindparam("user_id")))
_ALL_COMMUNITIES = DriverQuery(select(Community.__table__.c.id))


class SignIn(NamedTuple):
    user_id: int
    role: Role
    token_id: int
    expires_at: datetime
    scope: set[int] | None  # staff communities replayed (None: every one, an admin)
    rooms: set[int]  # community rooms joined


def _refuse(code: str, message: str):
    """A refusal the client sees as connect_error {message, data: {code}}."""
    return ConnectionRefusedError(message, {"code": code})


def last_event_id(auth) -> int | None:
    """The client's last_event_id: None when absent, else an integer 0 ≤ id < 2**63 (or refused)."""
    last = auth.get("last_event_id") if isinstance(auth, dict) else None
    if last is None:
        return None
    if type(last) is not int or not 0 <= last <= MAX_EVENT_ID:  # bool, float, str, 10**30, -1
        raise _refuse("invalid_last_event_id",
                      "last_event_id 须为非负整数 / last_event_id must be a non-negative integer event id")
    return last


def _signed_in(held, environ, auth) -> SignIn | None:
    token = auth.get("token") if isinstance(auth, dict) else None
    token = token or parse_cookie(environ.get("HTTP_COOKIE", "")).get(COOKIE)
    if not token or not isinstance(token, str):
        return None
    engine = held.engine
    with driver_connection(engine) as conn:
        row = _SIGNED_IN.first(conn, engine.dialect, {"digest": token_digest(token), "now": utcnow()})
        if row is None:
            return None
        role = Role(row.role)
        if role == Role.ADMIN:
            scope, rooms = None, {r.id for r in _ALL_COMMUNITIES.all(conn, engine.dialect, {})}
        elif role == Role.CENTER_STAFF:
            scope = rooms = {r.community_id for r in _STAFF_ROOMS.all(conn, engine.dialect, {"user_id": row.id})}
        else:
            scope, rooms = set(), set()
    return SignIn(row.id, role, row.token_id, row.expires_at, scope, rooms)


def register(app) -> None:
    """Attach the connect and disconnect handlers to this app's Socket.IO server.

    They are python-socketio's own handlers, not Flask-SocketIO's: those push a Flask request
    context (URL matching, a session opened and saved) around every event, a fifth of a connect's
    CPU, and these need nothing of Flask. Emits to the connecting socket stay in this process."""
    server, held = socketio.server, state(app)

    def emit_to(sid):
        return lambda name, payload: server.emit(name, payload, to=sid, namespace="/", ignore_queue=True)

    def on_connect(sid, environ, auth=None):
        """Refuse without valid credentials; join the user's and their communities' rooms; replay."""
        last = last_event_id(auth)
        held.relay.watching()
        who = _signed_in(held, environ, auth)
        if who is None:
            raise ConnectionRefusedError("unauthorized")
        sessions = held.extras[SESSIONS_KEY]
        ended = sessions.add(sid, who.user_id, who.token_id, who.expires_at)
        if ended is not None:  # signed out while this socket was connecting
            raise _refuse("session_ended", ended)

        def join() -> None:
            server.enter_room(sid, f"user:{who.user_id}", namespace="/")
            for community_id in sorted(who.rooms):
                server.enter_room(sid, f"community:{community_id}", namespace="/")

        send = emit_to(sid)
        try:
            if last is not None:
                # The rooms are joined inside the replay, so no event is both replayed and relayed live.
                held.relay.replay(who.user_id, who.scope if who.role.is_staff else set(), last, send, join=join)
            else:
                join()
            send("ready", {"user_id": who.user_id, "role": str(who.role)})
        except BaseException:
            sessions.discard(sid)
            raise

    def on_disconnect(sid, *_reason):
        """Forget the socket's sign-in."""
        held.extras[SESSIONS_KEY].discard(sid)

    server.on("connect", on_connect, namespace="/")
    server.on("disconnect", on_disconnect, namespace="/")
