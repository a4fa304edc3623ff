"""The outbox: events written in the same transaction as the change they report.

Each event is addressed to one user or to one community's staff; the relay emits it after commit
and a reconnecting client replays it by event id. Payloads carry no address or phone: clients
re-fetch what they are allowed to see.
"""
from __future__ import annotations

from collections.abc import Callable
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, event as sa_event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from models.bulk import JsonInsert
from models.events import Event
from models.providers import Provider
from models.requests import ServiceRequest
from models.seniors import FamilyLink, Senior
from models.types import utcnow

OUTBOX = "linli.outbox"
WRITTEN = "linli.outbox.written"
# Who to wake when a transaction on an engine committed events (the app's relay).
_WAKERS: WeakKeyDictionary[Engine, list[Callable[[], None]]] = WeakKeyDictionary()


def wake_on_commit(engine: Engine, callback: Callable[[], None]) -> None:
    """Call callback after every commit on engine that wrote events to the outbox."""
    _WAKERS.setdefault(engine, []).append(callback)


def add_user_event(session: Session, user_id: int, type_: str, payload: dict) -> None:
    """Queue an event for one user (written with the transaction's commit)."""
    session.info.setdefault(OUTBOX, []).append(
        {"type": type_, "user_id": user_id, "community_id": None, "payload": payload})


def add_community_event(session: Session, community_id: int, type_: str, payload: dict) -> None:
    """Queue an event for the staff of one community (written with the transaction's commit)."""
    session.info.setdefault(OUTBOX, []).append(
        {"type": type_, "user_id": None, "community_id": community_id, "payload": payload})


_INSERT_EVENTS = JsonInsert(Event.__table__, ("type", "user_id", "community_id", "payload", "created_at"))


@sa_event.listens_for(OrmSession, "before_commit")
def _write_outbox(session: OrmSession) -> None:
    # One INSERT per transaction, inside it: the events commit with the change or not at all. On the
    # table, not the ORM entity, and the rows as one JSON parameter (models.bulk).
    rows = session.info.pop(OUTBOX, None)
    if rows:
        now = utcnow()
        for row in rows:
            row["created_at"] = now
        _INSERT_EVENTS.execute(session, rows)
        session.info[WRITTEN] = True


@sa_event.listens_for(OrmSession, "after_commit")
def _wake_relay(session: OrmSession) -> None:
    # Delivery after commit, and only when this transaction wrote events.
    if session.info.pop(WRITTEN, False):
        bind = session.get_bind()
        for callback in _WAKERS.get(getattr(bind, "engine", bind), ()):
            callback()


@sa_event.listens_for(OrmSession, "after_rollback")
def _drop_outbox(session: OrmSession) -> None:
    session.info.pop(OUTBOX, None)
    session.info.pop(WRITTEN, None)


_LINKS = FamilyLink.__table__.c  # table columns: the Core path, no ORM compile
_FAMILY_OF = select(_LINKS.user_id).where(_LINKS.senior_id == bindparam("senior_id"))


def senior_side_users(session: Session, senior: Senior) -> set[int]:
    """The senior's own account and every linked family member."""
    users = set(session.execute(_FAMILY_OF, {"senior_id": senior.id}).scalars().all())
    if senior.user_id:
        users.add(senior.user_id)
    return users


def provider_user(session: Session, provider_id: int | None) -> int | None:
    """The account behind a provider."""
    if provider_id is None:
        return None
    return session.exec(select(Provider.user_id).where(Provider.id == provider_id)).first()


def request_changed(session: Session, request: ServiceRequest, payload: dict, *,
                    extra_users: tuple[int | None, ...] = ()) -> None:
    """Tell the senior's side, the booker, the assigned provider and the community's staff."""
    senior = session.get(Senior, request.senior_id)
    users = senior_side_users(session, senior) | {request.created_by, provider_user(session, request.provider_id)}
    users |= set(extra_users)
    for user_id in sorted(u for u in users if u is not None):
        add_user_event(session, user_id, "request_updated", {"request": payload})
    add_community_event(session, request.community_id, "request_updated", {"request": payload})
    dashboard_changed(session, request.community_id, "request")


_FAMILY_OF_MANY = (select(_LINKS.senior_id, _LINKS.user_id)
                   .where(_LINKS.senior_id.in_(bindparam("senior_ids", expanding=True))))


def requests_changed(session: Session, changes: list[tuple[ServiceRequest, Senior, dict]]) -> None:
    """request_changed for several requests (each with its senior and payload): one read of the
    seniors' families and of the assigned providers' accounts for them all, and one dashboard_updated
    per community (it carries nothing but the community)."""
    if not changes:
        return
    family: dict[int, set[int]] = {}
    for senior_id, user_id in session.execute(_FAMILY_OF_MANY, {"senior_ids": sorted({s.id for _r, s, _p in changes})}):
        family.setdefault(senior_id, set()).add(user_id)
    providers = {r.provider_id for r, _s, _p in changes if r.provider_id is not None}
    accounts = dict(session.execute(select(Provider.id, Provider.user_id).where(Provider.id.in_(providers))).all()) \
        if providers else {}
    for request, senior, payload in changes:
        users = family.get(senior.id, set()) | {senior.user_id, request.created_by, accounts.get(request.provider_id)}
        for user_id in sorted(u for u in users if u is not None):
            add_user_event(session, user_id, "request_updated", {"request": payload})
        add_community_event(session, request.community_id, "request_updated", {"request": payload})
    for community_id in sorted({r.community_id for r, _s, _p in changes}):  # the console re-reads once
        dashboard_changed(session, community_id, "request")


def dashboard_changed(session: Session, community_id: int, what: str) -> None:
    """Tell the community's staff that a list of their live view changed (what: request, sos or
    provider); the console re-reads GET /center/live."""
    add_community_event(session, community_id, "dashboard_updated", {"community_id": community_id, "what": what})
