"""Who sees which rows in lists: one where-clause per kind of object and role, so every list agrees.

A role that may see none of a kind gets an always-false clause (an empty list, never an error):
the per-object checks in access.py answer 404 for objects outside a caller's view.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import false, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, select

from dispatch.catalog import Role
from models.accounts import User
from models.complaints import Complaint
from models.plans import Plan
from models.providers import Organization, Provider
from models.requests import ServiceRequest
from models.seniors import FamilyLink, Senior
from models.sos import SosAlert
from server.steps.access import provider_of, staff_communities


def _in_communities(session: Session, user: User, column) -> ColumnElement[bool]:
    scope = staff_communities(session, user)
    return true() if scope is None else column.in_(scope)


def _own_seniors(user: User):
    return select(Senior.id).where(Senior.user_id == user.id)


def _linked_seniors(user: User):
    return select(FamilyLink.senior_id).where(FamilyLink.user_id == user.id)


def seniors_in_view(session: Session, user: User) -> ColumnElement[bool]:
    """Seniors: a senior their own profile, family the linked ones, center staff their communities."""
    if user.role == Role.SENIOR:
        return Senior.user_id == user.id
    if user.role == Role.FAMILY:
        return Senior.id.in_(_linked_seniors(user))
    if user.role.is_staff:
        return _in_communities(session, user, Senior.community_id)
    return false()


def plans_in_view(session: Session, user: User) -> ColumnElement[bool]:
    """Recurring plans: staff those of their communities, anyone else those of the seniors they see."""
    if user.role.is_staff:
        return _in_communities(session, user, Plan.community_id)
    return Plan.senior_id.in_(select(Senior.id).where(seniors_in_view(session, user)))


def requests_in_view(session: Session, user: User) -> ColumnElement[bool]:
    """Requests: the senior's side theirs, a provider those assigned to them, staff their communities."""
    if user.role == Role.SENIOR:
        return ServiceRequest.senior_id.in_(_own_seniors(user))
    if user.role == Role.FAMILY:
        return ServiceRequest.senior_id.in_(_linked_seniors(user))
    if user.role == Role.PROVIDER:
        mine = provider_of(session, user)
        return false() if mine is None else ServiceRequest.provider_id == mine.id
    if user.role.is_staff:
        return _in_communities(session, user, ServiceRequest.community_id)
    return false()


def providers_in_view(session: Session, user: User) -> ColumnElement[bool]:
    """Providers: a provider their own profile, an org admin their organization's, staff their communities."""
    if user.role == Role.PROVIDER:
        return Provider.user_id == user.id
    if user.role == Role.ORG_ADMIN:
        return Provider.organization_id.in_(select(Organization.id).where(Organization.admin_user_id == user.id))
    if user.role.is_staff:
        return _in_communities(session, user, Provider.community_id)
    return false()


PROVIDER_SOS_WINDOW = timedelta(days=7)


def sos_in_view(session: Session, user: User, *, now: datetime) -> ColumnElement[bool]:
    """SOS alerts: the senior's side theirs, staff their communities; for a provider the last week's
    alerts, of which the caller keeps those sent to them (the responders list is JSON)."""
    if user.role == Role.SENIOR:
        return SosAlert.senior_id.in_(_own_seniors(user))
    if user.role == Role.FAMILY:
        return SosAlert.senior_id.in_(_linked_seniors(user))
    if user.role == Role.PROVIDER:
        return SosAlert.opened_at >= now - PROVIDER_SOS_WINDOW
    if user.role.is_staff:
        return _in_communities(session, user, SosAlert.community_id)
    return false()


def complaints_in_view(session: Session, user: User) -> ColumnElement[bool]:
    """Complaints: the senior's side those they filed, a provider those about them, staff their communities."""
    if user.role in (Role.SENIOR, Role.FAMILY):
        return Complaint.filed_by == user.id
    if user.role == Role.PROVIDER:
        mine = provider_of(session, user)
        return false() if mine is None else Complaint.provider_id == mine.id
    if user.role.is_staff:
        return _in_communities(session, user, Complaint.community_id)
    return false()
