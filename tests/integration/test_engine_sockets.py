"""server/sockets/engine.py: Engine.IO sessions on a handed-over WebSocket, driven in this process on
gevent's loop over a socket pair: the open packet goes out with the handshake's answer, what a handler
sends goes out together, no greenlet is started a socket, pings come from a timer, and both sides'
closes end the session."""
from __future__ import annotations

import os
import struct
from types import SimpleNamespace

import engineio
import gevent
import pytest
from gevent import socket as gsocket

from server.sockets.engine import PacketJSON, Socket, engine_server_class
from server.sockets.websocket import CLOSE, HANDOVER, TEXT, transport


class Counted:
    """A gevent socket that counts the calls that write to it."""

    def __init__(self, sock):
        self._sock, self.writes = sock, 0

    def send(self, *args):
        self.writes += 1
        return self._sock.send(*args)

    def sendall(self, *args):
        self.writes += 1
        return self._sock.sendall(*args)

    def __getattr__(self, name):
        return getattr(self._sock, name)


class Client:
    """The client's end: reads the 101 and server frames, writes masked frames."""

    def __init__(self, sock):
        self.sock, self.data = sock, b""
        sock.settimeout(10)

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        assert chunk, "the server closed the connection"
        self.data += chunk

    def handshake(self) -> bytes:
        while b"\r\n\r\n" not in self.data:
            self._fill()
        head, self.data = self.data.split(b"\r\n\r\n", 1)
        return head

    def frame(self) -> tuple[int, bytes]:
        while True:
            if len(self.data) >= 2:
                n, at = self.data[1] & 0x7F, 2
                if n == 126 and len(self.data) >= 4:
                    n, at = struct.unpack("!H", self.data[2:4])[0], 4
                elif n == 127 and len(self.data) >= 10:
                    n, at = struct.unpack("!Q", self.data[2:10])[0], 10
                if n < 126 and len(self.data) >= at + n:
                    opcode, payload = self.data[0] & 0x0F, self.data[at:at + n]
                    self.data = self.data[at + n:]
                    return opcode, payload
            self._fill()

    def text(self) -> str:
        opcode, payload = self.frame()
        assert opcode == TEXT, (opcode, payload)
        return payload.decode()

    def send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        assert len(payload) < 126
        self.sock.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask
                          + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


@pytest.fixture
def engine():
    """An Engine.IO server as init_sockets sets it up on gevent, with a connection handed over."""
    # as python-socketio makes it: handlers run in the reading greenlet (async_handlers=False)
    server = engineio.Server(async_mode="gevent", async_handlers=False, monitor_clients=False, ping_interval=60,
                             json=PacketJSON)
    server._async = {**server._async, "websocket": transport(server._async["websocket"])}
    server.__class__ = engine_server_class(type(server))
    spawned, events = [], []
    server.start_background_task = lambda target, *a, **k: spawned.append(target)  # nothing may need one
    server.on("connect", lambda sid, environ: events.append(("connect", sid)))
    server.on("disconnect", lambda sid, reason: events.append(("disconnect", sid, reason)))
    ours, theirs = gsocket.socketpair()
    counted = Counted(ours)
    environ = {"REQUEST_METHOD": "GET", "QUERY_STRING": "EIO=4&transport=websocket", "HTTP_UPGRADE": "websocket",
               "HTTP_CONNECTION": "Upgrade", "HTTP_SEC_WEBSOCKET_KEY": "dGhlIHNhbXBsZSBub25jZQ==",
               "HTTP_SEC_WEBSOCKET_VERSION": "13", HANDOVER: SimpleNamespace(socket=counted, websocket=None)}
    session = gevent.spawn(server.handle_request, environ, lambda *a: None)
    yield SimpleNamespace(server=server, client=Client(theirs), counted=counted, session=session, spawned=spawned,
                          events=events, connection=environ[HANDOVER])
    session.kill()
    ours.close()
    theirs.close()


def _open(engine) -> str:
    head = engine.client.handshake()
    assert head.startswith(b"HTTP/1.1 101 ")
    opened = engine.client.text()
    assert opened.startswith("0{")
    return PacketJSON.loads(opened[1:])["sid"]


def test_the_open_packet_goes_out_with_the_handshakes_answer(engine):
    sid = _open(engine)
    assert engine.counted.writes == 1
    assert isinstance(engine.server.sockets[sid], Socket) and engine.server.sockets[sid].queue is None
    assert engine.events == [("connect", sid)]


def test_what_a_handler_sends_goes_out_in_one_write_and_no_greenlet_is_started(engine):
    def on_message(sid, data):
        for name in ("ack", "event 1", "event 2", "ready"):
            engine.server.send(sid, f"{data}: {name}")

    engine.server.on("message", on_message)
    _open(engine)
    engine.client.send(TEXT, b"440")
    assert [engine.client.text() for _ in range(4)] == ["440: ack", "440: event 1", "440: event 2", "440: ready"]
    assert engine.counted.writes == 2  # the 101 and open packet; the four messages
    assert engine.spawned == []  # python-engineio starts a writer and a ping greenlet a socket


def test_pings_come_from_a_timer_and_each_pong_schedules_the_next(engine):
    engine.server.ping_interval = 0.01
    _open(engine)
    assert engine.client.text() == "2"
    engine.client.send(TEXT, b"3")
    assert engine.client.text() == "2"
    assert engine.spawned == []


def test_a_server_disconnect_sends_close_then_ends_with_the_clients_answer(engine):
    sid = _open(engine)
    engine.server.disconnect(sid)
    assert engine.client.text() == "1"  # Engine.IO's CLOSE packet, then the closing handshake
    assert engine.client.frame() == (CLOSE, struct.pack("!H", 1000))
    engine.client.send(CLOSE, struct.pack("!H", 1000))
    engine.session.join(10)
    assert engine.session.ready() and engine.connection.websocket.close_received
    assert engine.events == [("connect", sid), ("disconnect", sid, engine.server.reason.SERVER_DISCONNECT)]
    assert sid not in engine.server.sockets


def test_a_client_close_is_answered_and_ends_the_session(engine):
    sid = _open(engine)
    engine.client.send(CLOSE, struct.pack("!H", 1000))
    assert engine.client.frame() == (CLOSE, struct.pack("!H", 1000))
    engine.session.join(10)
    assert engine.session.ready()
    assert engine.events[-1] == ("disconnect", sid, engine.server.reason.TRANSPORT_CLOSE)
    assert sid not in engine.server.sockets


def test_a_message_larger_than_the_send_buffer_is_finished_by_a_greenlet_in_order(engine):
    big = "x" * (4 << 20)

    def on_message(sid, data):
        engine.server.send(sid, big)
        engine.server.send(sid, "after")

    engine.server.on("message", on_message)
    _open(engine)
    engine.client.send(TEXT, b"4go")
    while len(engine.client.data) < 10 + len(big) + 1 + 8:  # the big frame (a 64-bit length), then "4after"
        engine.client._fill()
    data = engine.client.data
    assert data[1] == 127 and struct.unpack("!Q", data[2:10])[0] == len(big) + 1
    assert data[10:10 + len(big) + 1] == b"4" + big.encode()
    engine.client.data = data[10 + len(big) + 1:]
    assert engine.client.text() == "4after"


def test_a_client_that_goes_away_ends_the_session(engine):
    sid = _open(engine)
    engine.client.sock.close()
    engine.session.join(10)
    assert engine.session.ready()
    assert engine.events[-1] == ("disconnect", sid, engine.server.reason.TRANSPORT_CLOSE)


def test_packet_json_writes_and_reads_what_engineio_json_does():
    import json

    from engineio import json as engineio_json

    for value in ({"sid": "a", "n": [1, 2.5, None, True]}, "你好", [{"event_id": 2**62}]):
        assert PacketJSON.dumps(value, separators=(",", ":")) == json.dumps(value, separators=(",", ":"))
        assert PacketJSON.loads(json.dumps(value)) == engineio_json.loads(json.dumps(value))
    with pytest.raises(ValueError):
        PacketJSON.loads("1" * 101)  # engine.io's limit on an integer's digits
