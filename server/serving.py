"""`linli serve`'s HTTP server: gevent's WSGI server, one process, keep-alive connections.

Three things on top of gevent's pywsgi (see docs/serving.md):
- every connection sets TCP_NODELAY;
- a WebSocket takes the connection's own socket (simple-websocket would duplicate it: two file
  descriptors a socket), and once the WebSocket is over the connection is closed, never read for
  another HTTP request (its closing handshake was read as one, and the client waited 3 s for it);
- near the process's descriptor limit, new Socket.IO sessions are refused with 503 and
  Retry-After, other requests and the sockets already open go on, and a connection accepted with
  no descriptor to spare is closed at once instead of failing the listener every second.
"""
from __future__ import annotations

import errno
import gc
import json
import logging
import os
import socket
import time
from http import client as http_client

from gevent import pywsgi
from gevent.event import Event
from gevent.monkey import get_original

from server.sockets import async_mode
from server.sockets.websocket import HANDOVER

log = logging.getLogger(__name__)
# gevent's os.close puts off closing a descriptor to its loop; the spare one must be free at once.
_close_now = get_original("os", "close")
_SILENT_LOG = getattr(pywsgi, "_NoopLog", ())  # pywsgi's log for log=None (a private class: () if it goes)

SOCKETIO_PATH = "/socket.io/"
CLOSE_GRACE = 2.0  # seconds a closed WebSocket may take to finish its closing handshake
RETRY_AFTER = 5  # seconds, on a refused Socket.IO session
_BUSY_BODY = json.dumps({"error": {"code": "busy", "message": "服务器连接已满，请稍后重试 / Too many connections: "
                                   "retry shortly"}}).encode() + b"\n"
_SHED = (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: %d\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
         % RETRY_AFTER)


def on_gevent() -> bool:
    """Whether this process was patched by gevent before it imported anything (server.entry)."""
    return async_mode() == "gevent"


def descriptor_limit(raise_soft: bool = True) -> int:
    """The process's open-file limit, raising the soft limit to the hard one first (as Go does)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if raise_soft and soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def socket_cap(limit: int) -> int:
    """How many client connections may be open before new Socket.IO sessions are refused: the rest
    of the descriptors are kept for plain requests (health checks), the database and the log."""
    return limit - min(1024, max(96, limit // 8))


class _WebSocketConnection:
    """The connection's socket as the WebSocket uses it; closed is set when the WebSocket closes it."""

    def __init__(self, sock):
        self._sock = self.socket = sock
        self.websocket = None  # server.sockets.websocket.WebSocket, once it answered the handshake
        self.closed = Event()
        self.send, self.recv, self.fileno = sock.send, sock.recv, sock.fileno

    def close(self) -> None:
        self.closed.set()
        self._sock.close()

    def __getattr__(self, name):
        return getattr(self._sock, name)


def read_headers(fp) -> pywsgi.OldMessage:
    """A request's header block as pywsgi's message, read as http.client.parse_headers reads it (its
    line and count limits) without the email package's feed parser, which cost a tenth of a
    Socket.IO connect's CPU. A line that is not a header makes the request a 400."""
    lines = http_client._read_headers(fp)  # the limits: LineTooLong, more than 100 headers
    message = pywsgi.OldMessage()
    fields = message._headers
    for raw in lines[:-1]:
        line = raw.decode("iso-8859-1")
        if line[:1] in " \t" and fields:  # an obsolete folded line continues the previous value
            name, value = fields[-1]
            fields[-1] = (name, (value + "\r\n" + line).rstrip("\r\n"))
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            message.status = "Invalid header line"
            break
        fields.append((name, value.lstrip(" \t").rstrip("\r\n")))
    return message


class ConnectionHandler(pywsgi.WSGIHandler):
    """One client connection: its HTTP requests one after another, or its WebSocket."""

    def MessageClass(self, fp, *_args):
        try:
            return read_headers(fp)
        except http_client.LineTooLong:
            message = pywsgi.OldMessage()
            message.status = "Line too long"
            return message

    def _headers(self):
        """The headers as environ keys, from read_headers' pairs (pywsgi formats each as a line and
        splits it again): a name with `_` is dropped, Content-Type and Content-Length are not HTTP_."""
        for name, value in self.headers._headers:
            if "_" in name:
                continue
            key = name.replace("-", "_").upper()
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                yield "HTTP_" + key, value.strip()

    def log_request(self):
        # pywsgi formats the access-log line (a clock read, a date) before handing it to its log, even
        # the one that writes nothing (`log=None`, linli serve's); gunicorn's worker logs its own way.
        if not isinstance(self.server.log, _SILENT_LOG):
            super().log_request()

    def handle(self):
        # gevent writes a response's headers and body in two sends. On a kept-alive connection
        # Nagle's algorithm then holds the body until the client acknowledges the headers, and
        # clients delay that acknowledgement by up to 40 ms: every request would wait for it.
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        server = self.server
        server.connections = getattr(server, "connections", 0) + 1
        try:
            return super().handle()
        finally:
            server.connections -= 1

    def run_application(self):
        environ = self.environ
        if environ.get("PATH_INFO", "").startswith(SOCKETIO_PATH):
            upgrade = environ.get("HTTP_UPGRADE", "").lower() == "websocket"
            if (upgrade or "sid=" not in environ.get("QUERY_STRING", "")) and self._full():
                return self._refuse()
            if upgrade:
                return self._run_websocket()
        return super().run_application()

    def _full(self) -> bool:
        cap = getattr(self.server, "socket_cap", None)
        return cap is not None and self.server.connections > cap

    def _refuse(self) -> None:
        """503 with Retry-After for a new Socket.IO session or WebSocket while descriptors run short."""
        self.close_connection = True
        self.start_response("503 Service Unavailable", [
            ("Content-Type", "application/json"), ("Content-Length", str(len(_BUSY_BODY))),
            ("Retry-After", str(RETRY_AFTER)), ("Connection", "close")])
        self.write(_BUSY_BODY)

    def _run_websocket(self) -> None:
        """Hand the connection to the WebSocket, then close it: it never carries HTTP again."""
        connection = _WebSocketConnection(self.socket)
        # Engine.IO's transport (server.sockets.websocket) takes it from here; were it the stock one,
        # simple-websocket takes a socket given as "werkzeug.socket" as it is (gevent's it would
        # dup) and, in that mode, raises ConnectionError once the WebSocket is over.
        self.environ[HANDOVER] = self.environ["werkzeug.socket"] = connection
        try:
            super().run_application()
        except ConnectionError as exc:
            if type(exc) is not ConnectionError:  # a real socket error (reset, broken pipe): pywsgi's
                raise
            self.result = None
        else:
            if connection.websocket is None:  # not a WebSocket after all (a refused handshake): HTTP
                return
        self.close_connection = True
        if connection.websocket is not None:
            connection.websocket.linger(CLOSE_GRACE)  # the client's answer to our close frame
        else:
            # simple-websocket's greenlet reads the client's close frame, answers it and closes the
            # socket; a client that never answers gets the socket closed under it after the grace.
            connection.closed.wait(CLOSE_GRACE)
        self.socket.close()


class Server(pywsgi.WSGIServer):
    """pywsgi's server with the descriptor budget of ConnectionHandler and a listener that sheds
    connections it has no descriptor for instead of failing (and logging) every second."""

    def __init__(self, listener, application, *, limit: int | None = None, **kwargs):
        kwargs.setdefault("handler_class", ConnectionHandler)
        kwargs.setdefault("log", None)
        super().__init__(listener, application, **kwargs)
        self.connections = 0
        self.limit = limit or descriptor_limit()
        self.socket_cap = socket_cap(self.limit)
        self._spare = self._reserve()
        self._shed_logged = 0.0
        self.shed = 0

    @staticmethod
    def _reserve() -> int | None:
        try:
            return os.open(os.devnull, os.O_RDONLY)
        except OSError:
            return None

    def do_read(self):
        try:
            return super().do_read()
        except OSError as exc:
            if exc.errno not in (errno.EMFILE, errno.ENFILE):
                raise
        self._shed_one()
        return None

    def _shed_one(self) -> None:
        """Out of descriptors: free the spare one, accept, answer 503 and close, take the spare back."""
        if self._spare is None:
            self._spare = self._reserve()
        if self._spare is not None:
            _close_now(self._spare)
            try:
                fd, _ = self.socket._accept()
            except OSError:
                fd = None
            if fd is not None:
                try:
                    os.write(fd, _SHED)  # a fresh socket's send buffer is empty: this does not block
                except OSError:
                    pass
                _close_now(fd)
                self.shed += 1
            self._spare = self._reserve()
        if self._spare is None:  # nothing to accept with: listen again shortly
            self.stop_accepting()
            self._timer = self.loop.timer(0.05)
            self._timer.start(self._start_accepting_if_started)
        now = time.monotonic()
        if now - self._shed_logged > 60:
            self._shed_logged = now
            log.warning("out of file descriptors (limit %d, %d connections open): refusing new connections",
                        self.limit, self.connections)

    def close(self):
        if self._spare is not None:
            _close_now(self._spare)
            self._spare = None
        super().close()


def freeze_heap() -> None:
    """Leave what the process made before serving out of the garbage collector's full collections.

    A reconnect storm allocates a few hundred container objects a connect, so the collector runs
    often; every full collection traversed the whole heap (Flask, SQLAlchemy's metadata, numpy and
    scipy's modules) to find the few cycles a connect leaves: a tenth of a connect's CPU. Objects
    that exist before serving live as long as the process; gc.freeze() moves them to a generation
    the collector does not traverse (they are still freed by reference counting if dropped)."""
    gc.collect()
    gc.freeze()


def serve(app, host: str, port: int) -> None:
    """Serve app (Flask with Socket.IO attached) on host:port until stopped."""
    server = Server((host, port), app)
    freeze_heap()
    server.serve_forever()
