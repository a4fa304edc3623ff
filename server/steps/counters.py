"""Named monotonic counters (models.providers.Counter): each process's caches compare a counter's
value with the one they last saw, and reload only what changed since ("provider" for the dispatch
directory and the coverage cache, "senior" for the coverage cache)."""
from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, select

from models.providers import Counter


def bump_counter(session: Session, name: str) -> int:
    """Add one to the counter in the caller's transaction (its row stays locked until commit, so
    values commit in order); returns the new value."""
    value = session.exec(update(Counter).where(Counter.name == name)
                         .values(value=Counter.value + 1).returning(Counter.value)).first()
    if value is None:
        session.add(Counter(name=name, value=1))
        session.flush()
        return 1
    return value[0]


def counter_value(session: Session, name: str) -> int:
    """The counter's committed value (0 before its first bump)."""
    return session.exec(select(Counter.value).where(Counter.name == name)).first() or 0
