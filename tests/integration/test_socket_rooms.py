"""server/sockets/rooms.py: python-socketio's client manager with each socket's rooms remembered: the
same rooms as python-socketio's after any sequence of joins, leaves, closes and disconnects, and a
disconnect that looks at the socket's own rooms only."""
from __future__ import annotations

import random

import socketio
from bidict import BidictBase

from server.sockets.rooms import indexed_manager_class


class _Eio:
    def __init__(self):
        self.n = 0

    def generate_id(self):
        self.n += 1
        return f"sid{self.n}"


def _manager(indexed: bool):
    manager = socketio.Manager()
    if indexed:
        manager.__class__ = indexed_manager_class(socketio.Manager)
    manager.set_server(type("Server", (), {"eio": _Eio(), "packet_class": socketio.packet.Packet})())
    return manager


def _rooms(manager) -> dict:
    return {ns: {room: dict(members) for room, members in rooms.items()} for ns, rooms in manager.rooms.items()}


def test_the_rooms_are_python_socketios_after_any_sequence():
    rng = random.Random(12)
    stock, ours = _manager(False), _manager(True)
    connected: list[tuple[str, str]] = []
    for step in range(3000):
        op = rng.random()
        if op < 0.3 or not connected:
            namespace = rng.choice(["/", "/staff"])
            eio_sid = f"e{step}"
            sids = [m.pre_connect(eio_sid, namespace) for m in (stock, ours)]
            assert sids[0] == sids[1]
            if rng.random() < 0.8:
                for m in (stock, ours):
                    m.connect(sids[0], namespace)
            connected.append((sids[0], namespace))
        elif op < 0.6:
            sid, namespace = rng.choice(connected)
            room = f"room{rng.randrange(8)}"
            for m in (stock, ours):
                m.enter_room(sid, namespace, room)
        elif op < 0.7:
            sid, namespace = rng.choice(connected)
            room = f"room{rng.randrange(8)}"
            for m in (stock, ours):
                m.leave_room(sid, namespace, room)
        elif op < 0.75:
            namespace, room = rng.choice(["/", "/staff"]), f"room{rng.randrange(8)}"
            for m in (stock, ours):
                m.close_room(room, namespace)
        else:
            sid, namespace = connected.pop(rng.randrange(len(connected)))
            if rng.random() < 0.3:
                for m in (stock, ours):
                    m.pre_disconnect(sid, namespace)
            for m in (stock, ours):
                m.disconnect(sid, namespace)
        assert _rooms(ours) == _rooms(stock), step
        assert ours.pending_connect == stock.pending_connect and ours.pending_disconnect == stock.pending_disconnect
    for sid, namespace in connected:
        assert ours.get_rooms(sid, namespace) == stock.get_rooms(sid, namespace)


def test_a_disconnect_looks_only_at_the_sockets_own_rooms(monkeypatch):
    manager = _manager(True)
    sids = []
    for n in range(1000):
        sid = manager.pre_connect(f"e{n}", "/")
        manager.connect(sid, "/")
        manager.enter_room(sid, "/", f"user:{n}")
        sids.append(sid)
    looked = []
    original = BidictBase.__contains__
    monkeypatch.setattr(BidictBase, "__contains__", lambda self, key: looked.append(key) or original(self, key))
    manager.disconnect(sids[500], "/")
    assert len(looked) < 10  # python-socketio's looks in each of the 2,000 rooms
    assert sids[500] not in manager.rooms["/"][None] and "user:500" not in manager.rooms["/"]


def test_a_manager_whose_class_is_swapped_indexes_the_rooms_it_has():
    manager = socketio.Manager()
    manager.set_server(type("Server", (), {"eio": _Eio(), "packet_class": socketio.packet.Packet})())
    sid = manager.pre_connect("e1", "/")
    manager.connect(sid, "/")
    manager.enter_room(sid, "/", "user:1")
    manager.__class__ = indexed_manager_class(socketio.Manager)
    manager.disconnect(sid, "/")
    assert manager.rooms == {}
    assert indexed_manager_class(socketio.RedisManager) is indexed_manager_class(socketio.RedisManager)
