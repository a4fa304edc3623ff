"""Socket.IO: one server per process; Redis carries events between processes when configured."""
from __future__ import annotations

from flask_socketio import SocketIO

from server.relay import Relay, emit_batch
from server.sockets.sessions import SESSIONS_KEY, SocketSessions
from server.state import state
from server.steps.outbox import wake_on_commit

socketio = SocketIO()


def async_mode() -> str:
    """gevent in a process patched by it (`linli serve`, gunicorn's gevent worker); threading in any
    other (the CLI's jobs, tests driving the app in process)."""
    from gevent import monkey

    return "gevent" if monkey.is_module_patched("socket") else "threading"


def end_socket(sid: str, reason: str) -> None:
    """Tell one of this process's sockets why its session ended (`session_ended {reason}`), then
    disconnect it."""
    socketio.server.emit("session_ended", {"reason": reason}, to=sid, namespace="/", ignore_queue=True)
    socketio.server.disconnect(sid, namespace="/", ignore_queue=True)


def init_sockets(app, settings) -> None:
    """Attach Socket.IO to app (Origin allow-list, Redis queue if configured) and its outbox relay."""
    from server.sockets import handlers
    from server.sockets.engine import PacketJSON
    from server.sockets.rooms import indexed_manager_class

    defaults = {f"http://{settings.host}:{settings.port}", f"http://localhost:{settings.port}",
                f"http://127.0.0.1:{settings.port}"}

    def same_origin(origin, environ) -> bool:
        # A proxy may serve on another host or port than settings.host/port: the page's own origin
        # (scheme://Host of this handshake) is always allowed, never any other site.
        here = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        return origin in defaults or origin == here

    origins = list(settings.allowed_origins) or same_origin
    # The SocketIO object is one per process, and init_app keeps the Redis client manager it made
    # for an earlier app: without this, every app made after one with a queue would use that queue.
    socketio.server_options.pop("client_manager", None)
    # PacketJSON: the standard library's JSON with its encoder and decoder made once, not a packet.
    socketio.init_app(app, async_mode=async_mode(), cors_allowed_origins=origins, json=PacketJSON,
                      message_queue=settings.redis_url, channel=settings.socketio_channel)
    manager = socketio.server.manager  # a disconnect leaves the socket's rooms, not a search of them all
    manager.__class__ = indexed_manager_class(type(manager))
    if socketio.server.eio.async_mode == "gevent":
        # linli serve's own WebSocket transport (server.sockets.websocket); `_async` is engine.io's
        # table of its async mode's classes, copied so that other servers keep theirs.
        # Sessions that open on such a WebSocket are server.sockets.engine's: one greenlet a socket,
        # packets posted to the WebSocket, which coalesces them into one send a loop iteration.
        from server.sockets.engine import engine_server_class
        from server.sockets.websocket import transport

        eio = socketio.server.eio
        eio._async = {**eio._async, "websocket": transport(eio._async["websocket"])}
        eio.__class__ = engine_server_class(type(eio))
    held = state(app)
    sessions = held.extras[SESSIONS_KEY] = SocketSessions(end_socket)
    relay = Relay(held.engine, lambda name, payload, room: socketio.emit(name, payload, to=room),
                  emit_many=lambda emits: emit_batch(socketio.server, emits),  # one Redis round trip a claim
                  autostart=settings.relay_autostart, sessions=sessions)
    held.relay = relay
    wake_on_commit(held.engine, relay.kick)  # the outbox wakes it after a commit with events
    handlers.register(app)
