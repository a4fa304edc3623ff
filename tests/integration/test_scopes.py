"""steps.scopes: every list of seniors, requests and providers applies one rule per role."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from dispatch.catalog import Role
from models.accounts import User
from models.providers import Provider
from models.requests import ServiceRequest
from models.seniors import Senior
from models.types import utcnow
from server.services import providers, requests, seniors
from server.steps.scopes import providers_in_view, requests_in_view, seniors_in_view
from tests import factories as f


def _world(session):
    here = f.first_community(session)
    there = f.other_community(session, here)
    org_admin = f.user(session, Role.ORG_ADMIN)
    org = f.organization(session, org_admin, here)
    w = dict(here=here, there=there, org_admin=org_admin,
             me=f.user(session, Role.SENIOR), family=f.user(session, Role.FAMILY),
             staff=f.staff(session, here), admin=f.user(session, Role.ADMIN))
    w["mine"] = f.senior(session, here, owner=w["me"])
    w["theirs"] = f.senior(session, there)
    f.family_link(session, w["mine"], w["family"])
    w["provider"] = f.provider(session, here, organization=org)
    w["far_provider"] = f.provider(session, there)
    now = utcnow()
    for senior, provider in ((w["mine"], w["provider"]), (w["theirs"], w["far_provider"])):
        session.add(ServiceRequest(senior_id=senior.id, community_id=senior.community_id, service_type="meal",
                                   status="assigned", provider_id=provider.id, scheduled_start=now,
                                   scheduled_end=now + timedelta(hours=1), duration_minutes=60,
                                   created_by=w["me"].id, created_at=now, updated_at=now))
    session.flush()
    return w


def _ids(session, model, clause):
    return set(session.exec(select(model.id).where(clause)).all())


def test_each_role_sees_its_own_rows(db_session):
    w = _world(db_session)
    s = db_session
    assert _ids(s, Senior, seniors_in_view(s, w["me"])) == {w["mine"].id}
    assert _ids(s, Senior, seniors_in_view(s, w["family"])) == {w["mine"].id}
    assert w["theirs"].id not in _ids(s, Senior, seniors_in_view(s, w["staff"]))
    assert {w["mine"].id, w["theirs"].id} <= _ids(s, Senior, seniors_in_view(s, w["admin"]))
    mine_requests = _ids(s, ServiceRequest, ServiceRequest.senior_id == w["mine"].id)
    assert _ids(s, ServiceRequest, requests_in_view(s, w["me"])) == mine_requests
    assert _ids(s, ServiceRequest, requests_in_view(s, w["family"])) == mine_requests
    provider_user = s.get(User, w["provider"].user_id)
    assert _ids(s, ServiceRequest, requests_in_view(s, provider_user)) == mine_requests
    assert _ids(s, Provider, providers_in_view(s, w["org_admin"])) == {w["provider"].id}
    assert w["far_provider"].id not in _ids(s, Provider, providers_in_view(s, w["staff"]))


def test_roles_that_see_none_of_a_kind_get_an_empty_list_everywhere(db_session):
    """Before, two lists answered [] and one 403 for the same situation."""
    w = _world(db_session)
    db_session.commit()
    assert seniors.list_seniors(session=db_session, user=w["org_admin"]) == []
    assert requests.list_requests(session=db_session, user=w["org_admin"]) == []
    assert providers.list_providers(session=db_session, user=w["me"]) == []
    assert providers.list_providers(session=db_session, user=w["family"]) == []
