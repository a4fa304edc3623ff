"""Socket.IO connect: authenticate (token or cookie), join rooms, replay what was missed."""
from __future__ import annotations

import logging

from flask import current_app, request
from flask_socketio import ConnectionRefusedError, emit, join_room

from models.engine import read_session
from models.types import utcnow
from server.auth import COOKIE
from server.services.access import staff_communities
from server.services.accounts import user_for_token
from server.sockets import socketio

log = logging.getLogger(__name__)


def _connected_user(auth):
    token = (auth or {}).get("token") if isinstance(auth, dict) else None
    token = token or request.cookies.get(COOKIE)
    if not token or not isinstance(token, str):
        return None, None
    with read_session(current_app.extensions["linli.engine"]) as session:
        user = user_for_token(session=session, token=token, now=utcnow())
        if user is None:
            return None, None
        scope = staff_communities(session, user) if user.role.is_staff else set()
        if scope is None:  # admin: every community
            from models.places import Community
            from sqlmodel import select

            rooms = set(session.exec(select(Community.id)).all())
        else:
            rooms = scope
        return user, (scope, rooms)


@socketio.on("connect")
def on_connect(auth=None):
    """Refuse without valid credentials; join the user's and their communities' rooms; replay."""
    user, scopes = _connected_user(auth)
    if user is None:
        raise ConnectionRefusedError("unauthorized")
    scope, rooms = scopes

    def join() -> None:
        join_room(f"user:{user.id}")
        for community_id in sorted(rooms):
            join_room(f"community:{community_id}")

    last = (auth or {}).get("last_event_id") if isinstance(auth, dict) else None
    if isinstance(last, int) and not isinstance(last, bool) and last >= 0:
        # The rooms are joined inside the replay, so no event is both replayed and relayed live.
        relay = current_app.extensions["linli.relay"]
        relay.replay(user.id, scope if user.role.is_staff else set(), last,
                     lambda name, payload: emit(name, payload), join=join)
    else:
        join()
    emit("ready", {"user_id": user.id, "role": str(user.role)})
