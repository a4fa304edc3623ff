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
import struct

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
    """One server-side WebSocket on a connected gevent socket: wait() for a message, send() one."""

    def __init__(self, sock, max_message: int):
        self._sock = sock  # engine.io sets its ping timeout on `_sock`: a silent peer ends wait()
        self._max = max_message
        self._buffer = b""
        self._send_lock = Semaphore()
        self.close_sent = self.close_received = False

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
        """Send one message: text for str, binary for bytes."""
        if self.close_sent:
            raise OSError("WebSocket closed")
        if isinstance(message, str):
            self._send(frame(TEXT, message.encode()))
        else:
            self._send(frame(BINARY, message))

    def _send(self, data: bytes) -> None:
        with self._send_lock:
            self._sock.sendall(data)

    def close(self, code: int = NORMAL) -> None:
        """Start (or answer) the closing handshake; the socket itself is closed by its connection."""
        if self.close_sent:
            return
        self.close_sent = True
        try:
            self._send(frame(CLOSE, struct.pack("!H", code)))
        except OSError:
            pass

    def linger(self, seconds: float) -> None:
        """After our close frame, read until the client's (or the end), for at most seconds."""
        if not self.close_sent or self.close_received:
            return
        self._sock.settimeout(seconds)
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
            self.ws = WebSocket(connection.socket, self._server.max_http_buffer_size)
            self._sock = connection.socket
            connection.websocket = self.ws
            self.ws._send(response)
            self._handler(self)
            return []

        def wait(self):
            return self.ws.wait()

        def send(self, message):
            self.ws.send(message)

        def close(self):
            self.ws.close()

    return EngineWebSocket
