"""The database session of the current request: read-only for GETs, writing otherwise."""
from __future__ import annotations

from functools import wraps

from flask import g, request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.engine import read_session, write_session
from server.state import state

def engine() -> Engine:
    """The app's engine."""
    return state().engine


def session() -> Session:
    """The request's session, opened on first use and closed at teardown."""
    if "db_session" not in g:
        writes = request.method not in ("GET", "HEAD", "OPTIONS") or g.get("db_writes", False)
        g.db_session = write_session(engine()) if writes else read_session(engine())
    return g.db_session


def writes(view):
    """Mark a GET view that writes (an audited read), so its session may write."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        g.db_writes = True
        return view(*args, **kwargs)

    return wrapper


def close_session(_exc=None) -> None:
    """Teardown: roll back anything uncommitted and close."""
    db = g.pop("db_session", None)
    if db is not None:
        db.close()
