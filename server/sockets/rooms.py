"""The rooms each socket is in, for python-socketio's client manager.

python-socketio finds the rooms of a socket that disconnects by copying the namespace's table of
rooms and looking for the socket in every one: each socket has a room of its own and a user's room,
so a disconnect cost two lookups for every socket of the process (800 with 400 phones, 20,000 with
10,000) and a reconnect storm's disconnects grew with the square of the phones. The manager here
remembers each socket's rooms as it enters and leaves them, and a disconnect leaves just those.
"""
from __future__ import annotations

_classes: dict[type, type] = {}


def indexed_manager_class(base: type) -> type:
    """python-socketio's client manager class `base` (Manager, RedisManager, ...) with the rooms of
    each socket remembered; made once a base class."""
    cls = _classes.get(base)
    if cls is not None:
        return cls

    class IndexedManager(base):
        def _rooms_index(self) -> dict:
            index = self.__dict__.get("_rooms_of")
            if index is None:  # a manager made before its class was swapped: index what it has
                index = self._rooms_of = {}
                for namespace, rooms in self.rooms.items():
                    for room, members in rooms.items():
                        for sid in members:
                            index.setdefault((namespace, sid), set()).add(room)
            return index

        def basic_enter_room(self, sid, namespace, room, eio_sid=None):
            index = self._rooms_index()
            super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
            index.setdefault((namespace, sid), set()).add(room)

        def basic_leave_room(self, sid, namespace, room):
            index = self._rooms_index()
            super().basic_leave_room(sid, namespace, room)
            rooms = index.get((namespace, sid))
            if rooms is not None:
                rooms.discard(room)
                if not rooms:
                    del index[(namespace, sid)]

        def basic_disconnect(self, sid, namespace, **kwargs):
            """python-socketio's, leaving only the rooms the socket is in."""
            if namespace not in self.rooms:
                return
            for room in self._rooms_index().pop((namespace, sid), ()):
                base.basic_leave_room(self, sid, namespace, room)
            self.callbacks.pop(sid, None)
            for pending in (self.pending_connect, self.pending_disconnect):
                sids = pending.get(namespace)
                if sids is not None and sid in sids:
                    sids.remove(sid)
                    if not sids:
                        del pending[namespace]

    IndexedManager.__name__ = IndexedManager.__qualname__ = f"Indexed{base.__name__}"
    cls = _classes[base] = IndexedManager
    return cls
