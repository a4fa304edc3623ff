"""server/sockets/sessions.py: which sockets a revocation or an expiry ends."""
from __future__ import annotations

from datetime import timedelta

from models.types import utcnow
from server.sockets.sessions import SocketSessions


def test_revocation_and_expiry_end_exactly_their_sockets():
    ended = []
    sessions = SocketSessions(lambda sid, reason: ended.append((sid, reason)))
    now = utcnow()
    sessions.add("a1", 1, 10, now + timedelta(hours=1))
    sessions.add("a2", 1, 10, now + timedelta(hours=1))
    sessions.add("b", 1, 11, now + timedelta(minutes=1))
    sessions.add("c", 2, 12, now + timedelta(days=1))
    assert sessions.revoke([10, 99], "signed_out") == 2
    assert sorted(ended) == [("a1", "signed_out"), ("a2", "signed_out")]
    ended.clear()
    assert sessions.expire(now + timedelta(minutes=2)) == 1 and ended == [("b", "expired")]
    assert len(sessions) == 1
    # A socket whose token was revoked while it connected is turned away, with the reason.
    assert sessions.add("late", 1, 10, now + timedelta(hours=1)) == "signed_out"
    assert len(sessions) == 1


def test_disconnected_sockets_do_not_pile_up_in_the_expiry_heap():
    sessions = SocketSessions(lambda sid, reason: None)
    expires = utcnow() + timedelta(days=30)
    for i in range(20_000):  # phones reconnecting for a month: each connect, then its disconnect
        sessions.add(f"s{i}", i % 100, i % 100, expires)
        sessions.discard(f"s{i}")
    sessions.add("live", 1, 1, expires)
    assert len(sessions) == 1
    assert len(sessions._expiring) <= 2 * len(sessions) + 1025
