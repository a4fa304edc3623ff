"""`linli serve`'s HTTP server: gevent's WSGI server, one process, keep-alive connections."""
from __future__ import annotations

import socket

from gevent import pywsgi

from server.sockets import async_mode


def on_gevent() -> bool:
    """Whether this process was patched by gevent before it imported anything (server.entry)."""
    return async_mode() == "gevent"


class NoDelayHandler(pywsgi.WSGIHandler):
    """gevent writes a response's headers and body in two sends. On a kept-alive connection Nagle's
    algorithm then holds the body until the client acknowledges the headers, and clients delay that
    acknowledgement by up to 40 ms: every request would wait for it."""

    def handle(self):
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return super().handle()
