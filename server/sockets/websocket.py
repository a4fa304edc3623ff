"""The WebSocket transport of `linli serve` (RFC 6455, the part Engine.IO uses).

python-engineio on gevent speaks WebSocket through simple-websocket and wsproto: a greenlet more
a socket, an HTTP parser run again over the handshake's headers, and a frame parser built anew
for each connection, about a third of a Socket.IO connect's CPU. This one reads frames in the
greenlet that waits for them, answers the handshake from the WSGI environ, and negotiates no
extension (permessage-deflate kept a zlib context of ~300 KB a socket for messages of a few
hundred bytes). Connections that server.serving did not hand over (gunicorn's worker) keep the
stock transport.
"""
from __future__ import annotations

import base64
import hashlib
import socket
import struct

import gevent
from gevent.lock import Semaphore

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
HANDOVER = "linli.websocket"  # the environ key under which server.serving hands over the socket
TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0
NORMAL, PROTOCOL_ERROR, TOO_BIG = 1000, 1002, 1009


class Closed(Exception):
    """The connection ended (closing handshake done, peer gone, or a protocol error)."""


def accept_key(key: str) -> str:
    """Sec-WebSocket-Accept for a client's Sec-WebSocket-Key."""
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked, final frame (server to client)."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


def unmask(mask: bytes, data: bytes) -> bytes:
    """XOR data with the 4-byte mask, as one big integer (no per-byte Python loop)."""
    n = len(data)
    if not n:
        return data
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


def handshake_response(environ) -> bytes | None:
    """The 101 answer to a valid WebSocket handshake, or None for an invalid one."""
    key = environ.get("HTTP_SEC_WEBSOCKET_KEY", "")
    if environ.get("HTTP_SEC_WEBSOCKET_VERSION") != "13" or len(key) != 24:
        return None
    connection = {part.strip().lower() for part in environ.get("HTTP_CONNECTION", "").split(",")}
    if "upgrade" not in connection or environ.get("HTTP_UPGRADE", "").lower() != "websocket":
        return None
    return (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept_key(key).encode() + b"\r\n\r\n")


class WebSocket:
    """One server-side WebSocket on a connected gevent socket: wait() for a message, send() one.

    post() queues a message instead: what is posted while a greenlet runs goes out in one send when
    the gevent loop next runs (a connect's open packet with the handshake's answer, its
    acknowledgement with the replay), from the loop without blocking it; only a socket whose send
    buffer is full gets a greenlet to finish writing. Without a loop, post() writes at once.
    """

    def __init__(self, sock, max_message: int, *, loop=None, greeting: bytes = b""):
        self._sock = sock  # engine.io sets its ping timeout on `_sock`: a silent peer ends wait()
        self._max = max_message
        self._buffer = b""
        self._loop = loop
        self._out: list[bytes] = []  # written in order, by one writer at a time
        self._scheduled = False  # a loop callback will write _out
        self._send_lock = Semaphore()  # held by a greenlet writing _out
        self.broken = False  # a write failed: the connection is shut down, nothing more is written
        self.close_sent = self.close_received = False
        if greeting:  # the handshake's answer, ahead of any message
            self._queue(greeting)

    def _read(self, n: int) -> bytes:
        while len(self._buffer) < n:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise Closed()
            self._buffer += chunk
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    def _frame(self) -> tuple[bool, int, bytes]:
        b0, b1 = self._read(2)
        if not b1 & 0x80 or b0 & 0x70:  # clients must mask; no extension was negotiated
            self._fail(PROTOCOL_ERROR)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read(8))[0]
        if n > self._max:
            self._fail(TOO_BIG)
        mask = self._read(4)
        return bool(b0 & 0x80), b0 & 0x0F, unmask(mask, self._read(n))

    def _fail(self, code: int):
        self.close(code)
        raise Closed()

    def wait(self) -> str | bytes | None:
        """The next message (str for text, bytes for binary), or None once the connection ended."""
        parts, kind = [], None
        try:
            while True:
                fin, opcode, payload = self._frame()
                if opcode == PING:
                    self._send(frame(PONG, payload))
                elif opcode == PONG:
                    pass
                elif opcode == CLOSE:
                    self.close_received = True
                    self.close(struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else NORMAL)
                    return None
                elif opcode in (TEXT, BINARY) and kind is None or opcode == CONTINUATION and kind is not None:
                    kind = kind or opcode
                    parts.append(payload)
                    if sum(map(len, parts)) > self._max:
                        self._fail(TOO_BIG)
                    if fin:
                        data = parts[0] if len(parts) == 1 else b"".join(parts)
                        return data.decode() if kind == TEXT else data
                else:
                    self._fail(PROTOCOL_ERROR)
        except (Closed, OSError, UnicodeDecodeError):
            return None

    def send(self, message: str | bytes) -> None:
        """Send one message (text for str, binary for bytes) and what was posted before it, now."""
        if self.close_sent or self.broken:
            raise OSError("WebSocket closed")
        self._out.append(frame(TEXT, message.encode()) if isinstance(message, str) else frame(BINARY, message))
        self.flush()

    def post(self, message: str | bytes) -> None:
        """Queue one message, to go out with whatever else is posted before the loop runs; dropped once
        the closing handshake started or the connection broke (the reader then ends the session)."""
        if self.close_sent or self.broken:
            return
        self._queue(frame(TEXT, message.encode()) if isinstance(message, str) else frame(BINARY, message))

    def _queue(self, data: bytes) -> None:
        self._out.append(data)
        if self._loop is None:
            try:
                self.flush()
            except OSError:
                pass
        elif not self._scheduled:
            self._scheduled = True
            self._loop.run_callback(self._write_soon)

    def _write_soon(self) -> None:
        """The loop's callback: write what was posted without blocking; a greenlet writes the rest."""
        self._scheduled = False
        if self._send_lock.locked() or not self._out or self.broken:  # that writer takes it all
            return
        data = self._out[0] if len(self._out) == 1 else b"".join(self._out)
        self._out = []
        try:
            sent = self._sock.send(data, 0, 0.0)  # gevent's send, with a timeout of 0: never waits
        except BlockingIOError:
            sent = 0
        except OSError:
            self._break()
            return
        if sent < len(data):
            self._out.insert(0, data[sent:])
            gevent.spawn(self._drain)

    def _drain(self) -> None:
        try:
            self.flush()
        except OSError:
            pass

    def flush(self) -> None:
        """Write everything queued, in this greenlet (waiting for a writer before it)."""
        with self._send_lock:
            try:
                while self._out and not self.broken:
                    data = self._out[0] if len(self._out) == 1 else b"".join(self._out)
                    self._out = []
                    self._sock.sendall(data)
            except OSError:
                self._break()
                raise
        if self.broken:
            raise OSError("WebSocket broken")

    def _break(self) -> None:
        """A write failed (peer gone, or not reading within the timeout): drop the rest, and shut the
        connection down so that its reader ends too."""
        self.broken = True
        self._out = []
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, data: bytes) -> None:
        """A control frame (pong, close), after what was posted."""
        self._queue(data)

    def close(self, code: int = NORMAL) -> None:
        """Start (or answer) the closing handshake: the close frame is queued after what was posted,
        and written by the loop or by linger(); the socket itself is closed by its connection."""
        if self.close_sent:
            return
        self.close_sent = True
        if not self.broken:
            self._send(frame(CLOSE, struct.pack("!H", code)))

    def linger(self, seconds: float) -> None:
        """Write what is queued, then, after our close frame, read until the client's (or the end),
        for at most seconds each."""
        self._sock.settimeout(seconds)
        try:
            self.flush()
        except OSError:
            return
        if not self.close_sent or self.close_received:
            return
        try:
            while not self.close_received:
                _, opcode, _ = self._frame()
                self.close_received = opcode == CLOSE
        except (Closed, OSError):
            pass


def transport(stock):
    """Engine.IO's `websocket` class for gevent: ours on connections server.serving handed over,
    the stock one (simple-websocket) on any other server."""

    class EngineWebSocket:
        def __init__(self, handler, server):
            self._handler, self._server = handler, server
            self.ws = None

        def __call__(self, environ, start_response):
            connection = environ.get(HANDOVER)
            if connection is None:
                return stock(self._handler, self._server)(environ, start_response)
            response = handshake_response(environ)
            if response is None:
                start_response("400 Bad Request", [("Content-Type", "text/plain"), ("Content-Length", "0")])
                return []
            # The 101 is queued, not sent: Engine.IO's open packet goes out with it, in one send.
            self.ws = WebSocket(connection.socket, self._server.max_http_buffer_size,
                                loop=gevent.get_hub().loop, greeting=response)
            self._sock = connection.socket
            connection.websocket = self.ws
            self._handler(self)
            return []

        def wait(self):
            return self.ws.wait()

        def send(self, message):
            self.ws.send(message)

        def close(self):
            self.ws.close()

    return EngineWebSocket
