"""Live operations' use cases on SQLite and PostgreSQL: the live snapshot, a request's candidates,
the hotline search."""
from __future__ import annotations

from datetime import timedelta

from dispatch.catalog import ProviderStatus, Role
from models.requests import ServiceRequest
from models.sos import SosAck, SosAlert
from models.types import utcnow
from server.services import candidates, live, seniors
from server.steps.directory import ProviderDirectory
from tests import factories as f


class _NoIndex(ProviderDirectory):
    """A directory without its geo index (its own connection would not see this test's rows): the
    candidates come from the near providers, read through the test's session."""

    def __init__(self) -> None:
        super().__init__(None)

    def candidates(self, *args, **kwargs) -> list[int]:
        return []


def _world(session):
    c = f.first_community(session)
    other = f.other_community(session, c)
    now = utcnow()
    staff, admin = f.staff(session, c), f.user(session, Role.ADMIN)
    senior = f.senior(session, c, name="李桂英", phone="13900001234")
    near = f.on_duty_provider(session, c, km_east=0.3)
    f.on_duty_provider(session, c, km_east=1.0, services=("cleaning",))
    f.provider(session, c, status=ProviderStatus.SUSPENDED)
    request = ServiceRequest(senior_id=senior.id, community_id=c.id, service_type="meal", status="escalated",
                             asap=True, scheduled_start=now - timedelta(hours=1), scheduled_end=now,
                             duration_minutes=60, created_by=staff.id, created_at=now, updated_at=now)
    session.add(request)
    session.flush()
    alert = SosAlert(senior_id=senior.id, community_id=c.id, lat=c.lat, lon=c.lon, located_by="home",
                     opened_by=staff.id, opened_at=now, status="acknowledged", acked_at=now, acked_by=staff.id,
                     responders=[])
    session.add(alert)
    session.flush()
    session.add(SosAck(sos_id=alert.id, user_id=staff.id, role="center_staff", at=now))
    session.flush()
    return dict(c=c, other=other, now=now, staff=staff, admin=admin, senior=senior, near=near, request=request,
                alert=alert)


def test_the_live_snapshot(db_session):
    w = _world(db_session)
    snap = live.live_snapshot(session=db_session, user=w["staff"], community_id=None, now=w["now"])
    assert [(r.id, r.overdue, r.senior_name) for r in snap.requests] == [(w["request"].id, True, "李桂英")]
    assert [(a.id, [k.user_id for k in a.acks]) for a in snap.sos] == [(w["alert"].id, [w["staff"].id])]
    assert w["near"].id in {p.id for p in snap.providers}
    assert all(p.lat == round(p.lat, 2) for p in snap.providers)
    theirs = live.live_snapshot(session=db_session, user=w["admin"], community_id=w["other"].id, now=w["now"])
    assert theirs.requests == [] and theirs.sos == []


def test_candidates_with_the_blocked_ones(db_session):
    w = _world(db_session)
    listed = candidates.request_candidates(session=db_session, user=w["staff"], request_id=w["request"].id,
                                           directory=_NoIndex(), now=w["now"])
    assert listed[0].provider_id == w["near"].id and listed[0].eligible
    assert {tuple(b.code for b in c.blocked) for c in listed if not c.eligible} >= {
        ("service_not_offered",), ("suspended", "off_duty")}


def test_the_hotline_search(db_session):
    w = _world(db_session)
    f.senior(db_session, w["other"], name="李桂芳")

    def found(q, user):
        return [s.id for s in seniors.list_seniors(session=db_session, user=user, q=q)]

    assert found("李桂", w["staff"]) == [w["senior"].id]
    assert found("0000 1234", w["staff"]) == [w["senior"].id]
    assert len(found("李桂", w["admin"])) == 2
    assert found("%", w["admin"]) == [] and found("_", w["admin"]) == []
