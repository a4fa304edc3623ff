"""The relay's replay: late-relayed lower ids are not lost, long gaps come back whole and in order."""
from datetime import timedelta

from dispatch.catalog import Role
from models.engine import write_session
from models.events import Event
from models.types import utcnow
from server import relay as relay_module
from server.relay import Relay
from tests import factories as f


def _events(engine, user_id, relayed_offsets):
    """Events for user_id, one per offset: seconds after t0 when it was relayed (None: not yet)."""
    t0 = utcnow()
    with write_session(engine) as s:
        rows = [Event(type="request_updated", user_id=user_id, payload={"n": n},
                      relayed_at=None if off is None else t0 + timedelta(seconds=off))
                for n, off in enumerate(relayed_offsets)]
        s.add_all(rows)
        s.commit()
        return [r.id for r in rows]


def _replay(engine, user_id, after):
    got = []
    Relay(engine, lambda *a: None).replay(user_id, set(), after, lambda name, payload: got.append(payload["event_id"]))
    return got


def test_an_event_numbered_before_last_event_id_but_relayed_after_it_is_replayed(engine):
    with write_session(engine) as s:
        user = f.user(s, Role.FAMILY)
        s.commit()
    ids = _events(engine, user.id, [0, 5, 1, 2, 3])  # ids[1] committed late: relayed after ids[2]
    assert _replay(engine, user.id, ids[2]) == [ids[1], ids[3], ids[4]]
    assert _replay(engine, user.id, ids[4]) == [ids[1]]  # still later than the last one the client saw
    assert _replay(engine, user.id, ids[1]) == [ids[2], ids[3], ids[4]]


def test_a_long_gap_is_replayed_whole_in_order_across_pages(engine, monkeypatch):
    monkeypatch.setattr(relay_module, "REPLAY_PAGE", 7)
    with write_session(engine) as s:
        user, other = f.user(s, Role.FAMILY), f.user(s, Role.FAMILY)
        s.commit()
    mine = _events(engine, user.id, [i for i in range(30)])
    _events(engine, other.id, [i for i in range(5)])
    assert _replay(engine, user.id, mine[2]) == mine[3:]
    assert _replay(engine, user.id, 0) == mine
