"""Socket.IO: one server per process; Redis carries events between processes when configured."""
from __future__ import annotations

import os

from flask_socketio import SocketIO

socketio = SocketIO()
CHANNEL = "flask-socketio"  # the channel Flask-SocketIO listens on; external emitters must match


def async_mode() -> str:
    """threading for the embedded default; gevent under gunicorn's gevent worker (LINLI_ASYNC_MODE)."""
    return os.environ.get("LINLI_ASYNC_MODE", "threading")


def init_sockets(app, settings) -> None:
    """Attach Socket.IO to app with the Origin allow-list and the Redis queue if configured."""
    origins = list(settings.allowed_origins) or [f"http://{settings.host}:{settings.port}",
                                                 f"http://localhost:{settings.port}",
                                                 f"http://127.0.0.1:{settings.port}"]
    socketio.init_app(app, async_mode=async_mode(), cors_allowed_origins=origins,
                      message_queue=settings.redis_url, channel=CHANNEL)
