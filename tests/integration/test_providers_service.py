"""services.providers on SQLite and PostgreSQL: organizations, profiles, standing, duty."""
from __future__ import annotations

import pytest
from sqlmodel import select

from dispatch.catalog import ProviderStatus, Role, ServiceType
from models.audit import AuditLog
from models.providers import DutyUpdate, OrganizationCreate, Provider, ProviderCreate
from models.types import utcnow
from server.errors import Conflict, Forbidden, Invalid
from server.services import providers
from tests import factories as f


def test_an_organization_is_pending_and_its_license_unique(db_session):
    c = f.first_community(db_session)
    oa = f.user(db_session, Role.ORG_ADMIN)
    db_session.commit()
    data = OrganizationCreate(name="康乐居家养老", kind="company", license_no="LIC-0001", address="郴州市北湖区",
                              lat=c.lat, lon=c.lon)
    org = providers.create_organization(session=db_session, user=oa, data=data)
    assert (org.status, org.community_id) == (ProviderStatus.PENDING, c.id)
    with pytest.raises(Conflict):
        providers.create_organization(session=db_session, user=oa, data=data)


def test_a_provider_profile_is_pending_and_single(db_session):
    c = f.first_community(db_session)
    me = f.user(db_session, Role.PROVIDER)
    db_session.commit()
    data = ProviderCreate(name="刘师傅", services=[ServiceType.MEAL, ServiceType.MEAL, ServiceType.BATHING],
                          base_lat=c.lat, base_lon=c.lon, service_radius_km=5)
    profile = providers.create_provider(session=db_session, user=me, data=data)
    assert profile.status == ProviderStatus.PENDING and profile.services == [ServiceType.BATHING, ServiceType.MEAL]
    assert profile.community_id == c.id
    with pytest.raises(Conflict):
        providers.create_provider(session=db_session, user=me, data=data)


@pytest.fixture
def world(db_session):
    c = f.first_community(db_session)
    me = f.user(db_session, Role.PROVIDER)
    p = f.provider(db_session, c, owner=me, status=ProviderStatus.PENDING)
    staff, admin = f.staff(db_session, c), f.user(db_session, Role.ADMIN)
    db_session.commit()
    return {"provider": p, "user": me, "staff": staff, "admin": admin}


def status(db_session, w, who: str, to: ProviderStatus, reason: str | None = None):
    return providers.set_provider_status(session=db_session, user=w[who], provider_id=w["provider"].id, status=to,
                                         reason=reason)


def test_the_standing_lifecycle(db_session, world):
    assert status(db_session, world, "staff", ProviderStatus.VERIFIED).status == ProviderStatus.VERIFIED
    assert status(db_session, world, "staff", ProviderStatus.SUSPENDED, "迟到").status_reason == "迟到"
    assert status(db_session, world, "staff", ProviderStatus.VERIFIED).status_reason is None
    status(db_session, world, "staff", ProviderStatus.BLACKLISTED, "虐待")
    with pytest.raises(Forbidden):
        status(db_session, world, "staff", ProviderStatus.VERIFIED)
    with pytest.raises(Conflict):
        status(db_session, world, "staff", ProviderStatus.SUSPENDED, "再次")
    assert status(db_session, world, "admin", ProviderStatus.VERIFIED).status == ProviderStatus.VERIFIED
    actions = db_session.exec(select(AuditLog.action).where(AuditLog.object_type == "provider",
                                                            AuditLog.object_id == world["provider"].id)
                              .order_by(AuditLog.id)).all()
    assert actions == ["provider.verified", "provider.suspended", "provider.verified", "provider.blacklisted",
                       "provider.verified"]


def test_duty_is_for_verified_providers_with_a_coarse_position(db_session, world):
    duty = lambda **kw: providers.set_duty(session=db_session, user=world["user"], data=DutyUpdate(**kw), now=utcnow())
    with pytest.raises(Conflict) as caught:
        duty(on_duty=True)
    assert caught.value.code == "provider_not_verified"
    status(db_session, world, "staff", ProviderStatus.VERIFIED)
    assert duty(on_duty=True, lat=25.7912345, lon=113.0123456).on_duty is True
    db_session.expire_all()
    row = db_session.get(Provider, world["provider"].id)
    assert (row.duty_lat, row.duty_lon) == (25.791, 113.012)
    with pytest.raises(Invalid):
        duty(on_duty=True, lat=25.79)
    duty(on_duty=False)
    db_session.expire_all()
    row = db_session.get(Provider, world["provider"].id)
    assert (row.on_duty, row.duty_lat, row.duty_lon) == (False, None, None)


def test_a_blacklisting_takes_the_provider_off_duty(db_session, world):
    status(db_session, world, "staff", ProviderStatus.VERIFIED)
    providers.set_duty(session=db_session, user=world["user"], data=DutyUpdate(on_duty=True, lat=25.79, lon=113.01),
                       now=utcnow())
    status(db_session, world, "staff", ProviderStatus.BLACKLISTED, "虐待老人")
    db_session.expire_all()
    row = db_session.get(Provider, world["provider"].id)
    assert (row.status, row.on_duty, row.duty_lat, row.duty_lon) == (ProviderStatus.BLACKLISTED, False, None, None)
