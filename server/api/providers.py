"""Providers and organizations: registration, verification and sanctions, duty."""

from pydantic import BaseModel, Field

from dispatch.catalog import ProviderStatus
from models.providers import (DutyUpdate, MemberPublic, MemberQuery, OrganizationCreate, OrganizationPublic,
                              ProviderCreate, ProviderPublic, StatusChange)
from models.types import MAX_ID, Id, utcnow
from server import db
from server.api import blueprint, directory, reply
from server.auth import current_user
from server.services import memberships, providers

api = blueprint("providers", "服务机构与人员", "Providers")


class ProviderPath(BaseModel):
    provider_id: Id


class OrganizationPath(BaseModel):
    organization_id: Id


class MemberPath(BaseModel):
    organization_id: Id
    provider_id: Id


class ProviderQuery(BaseModel):
    status: ProviderStatus | None = None
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_ID)


@api.post("/organizations", responses={201: OrganizationPublic})
def create_organization(body: OrganizationCreate):
    """Register a service organization; pending until the center verifies it."""
    return reply(providers.create_organization(session=db.session(), user=current_user(), data=body), 201)


@api.get("/organizations/<int:organization_id>", responses={200: OrganizationPublic})
def get_organization(path: OrganizationPath):
    """One organization."""
    return reply(providers.get_organization(session=db.session(), user=current_user(),
                                            organization_id=path.organization_id))


@api.post("/organizations/<int:organization_id>/verify", responses={200: OrganizationPublic})
def verify_organization(path: OrganizationPath):
    """Center staff verify an organization."""
    return reply(providers.verify_organization(session=db.session(), user=current_user(),
                                               organization_id=path.organization_id))


@api.get("/organizations/<int:organization_id>/members", responses={200: MemberPublic})
def list_members(path: OrganizationPath, query: MemberQuery):
    """An organization's join requests (status=pending, the default; declined) or its members (accepted)."""
    return reply(memberships.list_members(session=db.session(), user=current_user(),
                                          organization_id=path.organization_id, status=query.status))


@api.post("/organizations/<int:organization_id>/members/<int:provider_id>/accept", responses={200: MemberPublic})
def accept_member(path: MemberPath):
    """The organization's admin accepts a provider's request to join: the provider now belongs to it."""
    return reply(memberships.decide_member(session=db.session(), user=current_user(),
                                           organization_id=path.organization_id, provider_id=path.provider_id,
                                           accept=True, now=utcnow()))


@api.post("/organizations/<int:organization_id>/members/<int:provider_id>/decline", responses={200: MemberPublic})
def decline_member(path: MemberPath):
    """The organization's admin declines a provider's request to join."""
    return reply(memberships.decide_member(session=db.session(), user=current_user(),
                                           organization_id=path.organization_id, provider_id=path.provider_id,
                                           accept=False, now=utcnow()))


@api.post("/providers", responses={201: ProviderPublic})
def create_provider(body: ProviderCreate):
    """A provider registers their profile; pending until verified."""
    return reply(providers.create_provider(session=db.session(), user=current_user(), data=body), 201)


@api.get("/providers", responses={200: ProviderPublic})
def list_providers(query: ProviderQuery):
    """Providers in the caller's view (staff: their communities)."""
    return reply(providers.list_providers(session=db.session(), user=current_user(), status=query.status,
                                          limit=query.limit, offset=query.offset))


@api.post("/providers/me/duty", responses={200: ProviderPublic})
def set_duty(body: DutyUpdate):
    """Go on or off duty, optionally with the current (coarse) position."""
    return reply(providers.set_duty(session=db.session(), user=current_user(), data=body, now=utcnow()))


@api.get("/providers/<int:provider_id>", responses={200: ProviderPublic})
def get_provider(path: ProviderPath):
    """One provider's profile."""
    return reply(providers.get_provider(session=db.session(), user=current_user(), provider_id=path.provider_id))


def _status_route(status: ProviderStatus, needs_reason: bool):
    def change(path: ProviderPath, body: StatusChange):
        return reply(providers.set_provider_status(session=db.session(), user=current_user(),
                                                   provider_id=path.provider_id, status=status, reason=body.reason,
                                                   directory=directory(), now=utcnow()))

    def verify(path: ProviderPath):
        return reply(providers.set_provider_status(session=db.session(), user=current_user(),
                                                   provider_id=path.provider_id, status=status, reason=None,
                                                   directory=directory(), now=utcnow()))

    view = change if needs_reason else verify
    view.__name__ = f"provider_{status.value}"
    view.__doc__ = f"Center staff set a provider's standing to {status.value}."
    return view


for _path, _status, _reason in (("verify", ProviderStatus.VERIFIED, False),
                                ("suspend", ProviderStatus.SUSPENDED, True),
                                ("blacklist", ProviderStatus.BLACKLISTED, True)):
    api.post(f"/providers/<int:provider_id>/{_path}", responses={200: ProviderPublic})(_status_route(_status, _reason))
