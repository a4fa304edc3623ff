"""This process's open sockets and the sign-in each came with, so that a sign-in that ends
(logout, password change, disabled account: a `session_revoked` event; or its expiry) ends them."""
from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

log = logging.getLogger(__name__)
SESSIONS_KEY = "linli.sockets.sessions"  # in the app state's extras
RECENT_SECONDS = 60.0  # how long a revoked token is remembered, for a socket that connects meanwhile


class SocketSessions:
    """sid → (user id, token id, expiry) for this process's sockets.

    end(sid, reason) tells the socket `session_ended {reason}` and disconnects it (this process's
    Socket.IO server). Sockets signed in with the session cookie or a bearer token alike.
    """

    def __init__(self, end: Callable[[str, str], None]):
        self._end = end
        self._lock = threading.Lock()
        self._by_sid: dict[str, tuple[int, int, datetime]] = {}
        self._by_token: dict[int, set[str]] = {}
        self._expiring: list[tuple[datetime, str]] = []  # a heap; entries of gone sids are skipped
        self._recent: dict[int, tuple[float, str]] = {}  # token id → (when revoked, reason)

    def __len__(self) -> int:
        return len(self._by_sid)

    def add(self, sid: str, user_id: int, token_id: int, expires_at: datetime) -> str | None:
        """Remember a connected socket; returns a reason to end it at once when its token was
        revoked while it was connecting (after its sign-in was checked)."""
        with self._lock:
            revoked = self._recent.get(token_id)
            if revoked is not None:
                return revoked[1]
            self._by_sid[sid] = (user_id, token_id, expires_at)
            self._by_token.setdefault(token_id, set()).add(sid)
            heapq.heappush(self._expiring, (expires_at, sid))
            if len(self._expiring) > 2 * len(self._by_sid) + 1024:  # drop the disconnected sockets' entries
                self._expiring = [(entry[2], sid) for sid, entry in self._by_sid.items()]
                heapq.heapify(self._expiring)
        return None

    def discard(self, sid: str) -> None:
        """Forget a socket that disconnected."""
        with self._lock:
            entry = self._by_sid.pop(sid, None)
            if entry is not None:
                sids = self._by_token.get(entry[1])
                if sids is not None:
                    sids.discard(sid)
                    if not sids:
                        del self._by_token[entry[1]]

    def revoke(self, token_ids: list[int], reason: str) -> int:
        """End the sockets signed in with these tokens; returns how many."""
        now = time.monotonic()
        with self._lock:
            for token_id in token_ids:
                self._recent[token_id] = (now, reason)
            self._recent = {k: v for k, v in self._recent.items() if now - v[0] < RECENT_SECONDS}
            sids = [sid for token_id in token_ids for sid in self._by_token.get(token_id, ())]
        return self._end_all(sids, reason)

    def expire(self, now: datetime) -> int:
        """End the sockets whose sign-in expired by now; returns how many."""
        sids = []
        with self._lock:
            while self._expiring and self._expiring[0][0] <= now:
                expires_at, sid = heapq.heappop(self._expiring)
                entry = self._by_sid.get(sid)
                if entry is not None and entry[2] == expires_at:
                    sids.append(sid)
        return self._end_all(sids, "expired")

    def _end_all(self, sids: list[str], reason: str) -> int:
        for sid in sids:
            self.discard(sid)
            try:
                self._end(sid, reason)
            except Exception:  # one socket's failure must not keep the others open
                log.exception("could not end socket %s", sid)
        return len(sids)


def sessions_of(app=None) -> SocketSessions:
    """The app's (the current app's) open sockets."""
    from server.state import state

    return state(app).extras[SESSIONS_KEY]
