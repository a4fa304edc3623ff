"""What the console's reports share: which communities a report covers for its caller."""
from __future__ import annotations

from sqlalchemy import ColumnElement, true
from sqlmodel import Session

from models.accounts import User
from models.places import Community
from server.errors import Forbidden, NotFound
from server.steps.access import in_scope, staff_communities


def report_scope(session: Session, user: User, community_id: int | None) -> set[int] | None:
    """The communities a report covers: one asked for (404 when unknown or outside the caller's view),
    else the staff member's communities, or None (all) for an admin. Other roles 403."""
    if not user.role.is_staff:
        raise Forbidden()
    scope = staff_communities(session, user)
    if community_id is not None:
        if session.get(Community, community_id) is None or not in_scope(scope, community_id):
            raise NotFound()
        return {community_id}
    return scope


def within(column, scope: set[int] | None) -> ColumnElement[bool]:
    """A where-clause keeping rows of the scope's communities (everything for None)."""
    return true() if scope is None else column.in_(scope)
