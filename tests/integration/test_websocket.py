"""server/sockets/websocket.py: linli serve's RFC 6455 transport, frame by frame over a socket pair."""
from __future__ import annotations

import os
import socket
import struct

import pytest

from server.sockets.websocket import (
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    PONG,
    TEXT,
    WebSocket,
    accept_key,
    handshake_response,
)


def client_frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True) -> bytes:
    mask = os.urandom(4) if masked else b""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([(0x80 if masked else 0) | n])
    elif n < 65536:
        head += bytes([(0x80 if masked else 0) | 126]) + struct.pack("!H", n)
    else:
        head += bytes([(0x80 if masked else 0) | 127]) + struct.pack("!Q", n)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if masked else payload
    return head + mask + body


def server_frames(sock) -> list[tuple[int, bytes]]:
    sock.settimeout(0.2)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        pass
    frames = []
    while data:
        b0, b1 = data[0], data[1]
        assert b1 & 0x80 == 0  # the server never masks
        n, at = b1 & 0x7F, 2
        if n == 126:
            n, at = struct.unpack("!H", data[2:4])[0], 4
        elif n == 127:
            n, at = struct.unpack("!Q", data[2:10])[0], 10
        frames.append((b0 & 0x0F, data[at:at + n]))
        data = data[at + n:]
    return frames


@pytest.fixture
def pair():
    server, client = socket.socketpair()
    yield WebSocket(server, max_message=1000), client
    server.close()
    client.close()


def test_the_accept_key_is_rfc_6455s():
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 §1.3


def test_only_a_version_13_upgrade_is_answered():
    good = {"HTTP_SEC_WEBSOCKET_KEY": "dGhlIHNhbXBsZSBub25jZQ==", "HTTP_SEC_WEBSOCKET_VERSION": "13",
            "HTTP_CONNECTION": "keep-alive, Upgrade", "HTTP_UPGRADE": "websocket"}
    assert handshake_response(good).startswith(b"HTTP/1.1 101 ")
    assert b"Sec-WebSocket-Extensions" not in handshake_response(good)  # no permessage-deflate
    for broken in ({"HTTP_SEC_WEBSOCKET_VERSION": "8"}, {"HTTP_SEC_WEBSOCKET_KEY": "short"},
                   {"HTTP_UPGRADE": "h2c"}, {"HTTP_CONNECTION": "keep-alive"}):
        assert handshake_response({**good, **broken}) is None


def test_messages_text_binary_fragmented_and_pings_between(pair):
    ws, client = pair
    client.sendall(client_frame(TEXT, "你好 40{}".encode()) + client_frame(BINARY, b"\x00\x01")
                   + client_frame(TEXT, b"par", fin=False) + client_frame(PING, b"p")
                   + client_frame(CONTINUATION, b"ts") + client_frame(TEXT, b"x" * 300))
    assert ws.wait() == "你好 40{}"
    assert ws.wait() == b"\x00\x01"
    assert ws.wait() == "parts"
    assert ws.wait() == "x" * 300  # a 16-bit length
    ws.send("42[\"ready\"]")
    ws.send(b"\x02")
    assert server_frames(client) == [(PONG, b"p"), (TEXT, b'42["ready"]'), (BINARY, b"\x02")]


def test_a_client_close_is_answered_and_ends_wait(pair):
    ws, client = pair
    client.sendall(client_frame(CLOSE, struct.pack("!H", 1000)))
    assert ws.wait() is None
    assert server_frames(client) == [(CLOSE, struct.pack("!H", 1000))]
    ws.close()  # already answered: nothing more is sent
    with pytest.raises(OSError):
        ws.send("late")


def test_our_close_then_the_clients_answer(pair):
    ws, client = pair
    ws.close()
    client.sendall(client_frame(TEXT, b"in flight") + client_frame(CLOSE, struct.pack("!H", 1000)))
    ws.linger(1.0)
    assert ws.close_received
    assert server_frames(client) == [(CLOSE, struct.pack("!H", 1000))]


@pytest.mark.parametrize(("frames", "code"), [
    (client_frame(TEXT, b"no mask", masked=False), 1002),
    (client_frame(CONTINUATION, b"nothing to continue"), 1002),
    (client_frame(TEXT, b"y" * 1001), 1009),  # over max_message
    (client_frame(TEXT, b"y" * 600, fin=False) + client_frame(CONTINUATION, b"y" * 600), 1009),
    (client_frame(TEXT, b"\xff\xfe"), None),  # not UTF-8: the connection ends
])
def test_protocol_errors_end_the_connection(pair, frames, code):
    ws, client = pair
    client.sendall(frames)
    assert ws.wait() is None
    if code is not None:
        assert server_frames(client) == [(CLOSE, struct.pack("!H", code))]


def test_a_peer_that_goes_away_ends_wait(pair):
    ws, client = pair
    client.sendall(client_frame(TEXT, b"half")[:4])
    client.close()
    assert ws.wait() is None
