"""Socket.IO: one server per process; Redis carries events between processes when configured."""
from __future__ import annotations

from flask import request
from flask_socketio import SocketIO

from server.relay import Relay

socketio = SocketIO()
CHANNEL = "flask-socketio"  # the default channel (LINLI_SOCKETIO_CHANNEL); external emitters must match
RELAY_KEY = "linli.relay"


def async_mode() -> str:
    """gevent in a process patched by it (`linli serve`, gunicorn's gevent worker); threading in any
    other (the CLI's jobs, tests driving the app in process)."""
    from gevent import monkey

    return "gevent" if monkey.is_module_patched("socket") else "threading"


def init_sockets(app, settings) -> None:
    """Attach Socket.IO to app (Origin allow-list, Redis queue if configured) and its outbox relay."""
    from server.sockets import handlers  # noqa: F401  (registers the event handlers)

    defaults = {f"http://{settings.host}:{settings.port}", f"http://localhost:{settings.port}",
                f"http://127.0.0.1:{settings.port}"}

    def same_origin(origin, environ) -> bool:
        # A proxy may serve on another host or port than settings.host/port: the page's own origin
        # (scheme://Host of this handshake) is always allowed, never any other site.
        here = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        return origin in defaults or origin == here

    origins = list(settings.allowed_origins) or same_origin
    socketio.init_app(app, async_mode=async_mode(), cors_allowed_origins=origins,
                      message_queue=settings.redis_url, channel=settings.socketio_channel)
    relay = Relay(app.extensions["linli.engine"], lambda name, payload, room: socketio.emit(name, payload, to=room),
                  autostart=settings.relay_autostart)
    app.extensions[RELAY_KEY] = relay

    @app.after_request
    def kick_relay(response):
        # A successful write may have queued events: deliver them now rather than at the next poll.
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and response.status_code < 400:
            relay.kick()
        return response
