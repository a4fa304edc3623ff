"""Engine.IO sessions that begin on a WebSocket server.serving handed over (`linli serve`, the
Procfile's worker): one greenlet a socket, and a connect's packets in two sends.

python-engineio gives every session a queue and, on a WebSocket, a writer greenlet that takes
packets off it and sends each one by itself, and a greenlet more for each ping. In a reconnect
storm that was six sends a connect (the handshake's answer, the open packet, the Socket.IO
acknowledgement, the replay, `ready`), a third of its CPU, and three greenlets a socket. Here a
session's packets are posted to its WebSocket (server.sockets.websocket), which writes what was
posted while a greenlet ran in one send when the loop next runs, without waiting on the socket;
the connection's own greenlet reads, and the pings are a timer on the loop.

Only sessions that open on a handed-over WebSocket (`transport=websocket` without `sid`) are
these; long-polling sessions, and their upgrades, are python-engineio's own. python-engineio is
pinned by requirements.lock: `_handle_connect` below follows its 4.x code for that case.
"""
from __future__ import annotations

import base64
import json
import os
import time

import gevent
from engineio import exceptions, packet
from engineio import json as engineio_json
from engineio import socket as engineio_socket

from server.sockets.websocket import HANDOVER


class Socket(engineio_socket.Socket):
    """An Engine.IO session on one of our WebSockets: no queue, no writer greenlet."""

    def __init__(self, server, sid):
        # BaseSocket's attributes, without its queue: packets go to the WebSocket.
        self.server, self.sid = server, sid
        self.queue = None
        self.last_ping = time.time()
        self.connected = self.upgrading = self.upgraded = self.closing = self.closed = False
        self.session = {}
        self.ws = None  # server.sockets.websocket.WebSocket, once the handshake is answered
        self._early: list = []  # packets sent before that (the open packet)
        self._ping = None  # the loop's timer for the next ping

    def send(self, pkt):
        """Send a packet to the client (posted: it goes out when the loop next runs)."""
        if not self.check_ping_timeout():
            return
        self._post(pkt)
        logger = self.server.logger
        if logger.isEnabledFor(20):
            logger.info("%s: Sending packet %s data %s", self.sid, packet.packet_names[pkt.packet_type],
                        pkt.data if not isinstance(pkt.data, bytes) else "<binary>")

    def _post(self, pkt) -> None:
        if self.ws is None:
            self._early.append(pkt)
        else:
            self.ws.post(pkt.encode())

    def poll(self):  # only a long-polling GET polls, and this session is never one
        raise exceptions.QueueEmpty()

    def close(self, wait=True, abort=False, reason=None):
        """Close the session: the disconnect handlers, then (unless aborted) the CLOSE packet and the
        WebSocket's closing handshake, both posted. Nothing waits on the client: what python-engineio's
        `wait` waited for (its writer emptying the queue) is written in order by the loop."""
        if self.closed or self.closing:
            return
        self.closing = True
        self.server._trigger_event("disconnect", self.sid, reason or self.server.reason.SERVER_DISCONNECT,
                                   run_async=False)
        if not abort:
            self._post(packet.Packet(packet.CLOSE))
        self.closed = True
        if self._ping is not None:
            self._ping.stop()
            self._ping = None
        if self.ws is not None:
            self.ws.close()

    def schedule_ping(self):
        """The next ping, ping_interval from now, on a timer of the loop (not a greenlet a socket)."""
        if self.last_ping and not self.closed:
            self.last_ping = None
            if self._ping is not None:
                self._ping.stop()
            self._ping = gevent.get_hub().loop.timer(self.server.ping_interval)
            self._ping.start(self._send_ping)

    def _send_ping(self):
        self._ping = None
        if not self.closing and not self.closed:
            self.last_ping = time.time()
            self._post(packet.Packet(packet.PING))

    def _websocket_handler(self, ws):
        """Engine.IO over the WebSocket, in the connection's greenlet: read and handle packets until
        the WebSocket ends (handlers run here, as python-socketio asks of engine.io)."""
        websocket, server = ws.ws, self.server
        websocket._sock.settimeout(server.ping_interval + server.ping_timeout)  # a silent client ends wait()
        self.connected = self.upgraded = True
        self.ws = websocket
        for pkt in self._early:
            websocket.post(pkt.encode())
        self._early = []
        if self.closed:
            websocket.close()
        limit = server.max_http_buffer_size
        while not websocket.close_received:
            data = websocket.wait()
            if data is None or len(data) > limit:
                break
            try:
                self.receive(packet.Packet(encoded_packet=data))
            except exceptions.UnknownPacketError:
                pass
            except exceptions.SocketIsClosedError:
                break
            except Exception:
                server.logger.exception("Unknown receive error")
                break
        self.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)
        websocket.close()
        return []


_classes: dict[type, type] = {}


def engine_server_class(base: type) -> type:
    """python-engineio's Server class `base`, with sessions that open on a handed-over WebSocket
    made ours (Socket above); made once a base class."""
    cls = _classes.get(base)
    if cls is not None:
        return cls

    class EngineServer(base):
        _ids = b""  # random bytes for the next session ids
        _ids_at = 0

        def generate_id(self):
            """python-engineio's session id (12 random bytes and a 3-byte sequence number, base64 with
            - and _), its randomness read from the OS 256 ids at a time rather than a call each: two
            ids a connect (Engine.IO's and Socket.IO's)."""
            at = self._ids_at
            if at + 12 > len(self._ids):
                self._ids, at = os.urandom(12 * 256), 0
            self._ids_at = at + 12
            raw = self._ids[at:at + 12] + self.sequence_number.to_bytes(3, "big")
            self.sequence_number = (self.sequence_number + 1) & 0xFFFFFF
            return base64.urlsafe_b64encode(raw).decode()

        def _handle_connect(self, environ, start_response, transport, jsonp_index=None):
            """python-engineio's, with our Socket when the connection was handed over."""
            if transport != "websocket" or environ.get(HANDOVER) is None:
                return super()._handle_connect(environ, start_response, transport, jsonp_index)
            if self.start_service_task:  # the task that closes sessions whose client stopped answering pings
                self.start_service_task = False
                self.service_task_handle = self.start_background_task(self._service_task)
            sid = self.generate_id()
            s = Socket(self, sid)
            self.sockets[sid] = s
            s.send(packet.Packet(packet.OPEN, {
                "sid": sid, "upgrades": self._upgrades(sid, transport),
                "pingTimeout": int(self.ping_timeout * 1000),
                "pingInterval": int(self.ping_interval + self.ping_interval_grace_period) * 1000,
                "maxPayload": self.max_http_buffer_size}))
            ret = self._trigger_event("connect", sid, environ, run_async=False)
            if ret is not None and ret is not True:
                del self.sockets[sid]
                self.logger.warning("Application rejected connection")
                return self._unauthorized(ret or None)
            s.schedule_ping()
            ret = s.handle_get_request(environ, start_response)
            if s.ws is None:  # the handshake was refused (400): the session never opened
                s.close(wait=False, abort=True)
            if s.closed:
                self.sockets.pop(sid, None)
            return ret

    cls = _classes[base] = EngineServer
    return cls


class PacketJSON:
    """The JSON module of Socket.IO's and Engine.IO's packets (their `json=` option): the same text
    as python-engineio's module (the standard library's, integers of at most 100 digits), with the
    encoder and decoder made once; `json.dumps(data, separators=...)` and `loads(parse_int=...)`
    build a new one for every packet."""

    _compact = json.JSONEncoder(separators=(",", ":"))
    _decoder = json.JSONDecoder(parse_int=engineio_json._safe_int)

    @classmethod
    def dumps(cls, obj, **kwargs) -> str:
        if kwargs == {"separators": (",", ":")}:
            return cls._compact.encode(obj)
        return json.dumps(obj, **kwargs)

    @classmethod
    def loads(cls, s, **kwargs):
        if not kwargs and isinstance(s, str):
            return cls._decoder.decode(s)
        return engineio_json.loads(s, **kwargs)
