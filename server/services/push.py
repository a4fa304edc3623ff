"""Web Push subscriptions (several devices per user) and a user's own delivery record."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from models.accounts import User
from models.notifications import (Delivery, DeliveryPublic, PushSubscription, PushSubscriptionCreate,
                                  PushSubscriptionPublic)
from server.errors import NotFound, field_error
from server.notify.endpoints import EndpointPolicy, EndpointRefused
from server.notify.push import valid_keys

MAX_DEVICES = 10


def subscribe_push(*, session: Session, user: User, data: PushSubscriptionCreate, policy: EndpointPolicy,
                   now: datetime) -> PushSubscriptionPublic:
    """Keep a browser's subscription for this user (an endpoint seen before moves to them); 422 for an
    endpoint that is not a known push service (SSRF) or keys that are not a P-256 key and secret."""
    try:
        policy.check(data.endpoint)
    except EndpointRefused as exc:
        raise field_error("endpoint", str(exc), code="push_endpoint_refused") from exc
    if not valid_keys(data.keys.p256dh, data.keys.auth):
        raise field_error("keys", "订阅密钥无效 / invalid subscription keys")
    row = session.exec(select(PushSubscription).where(PushSubscription.endpoint == data.endpoint)).first()
    if row is None:
        row = PushSubscription(user_id=user.id, endpoint=data.endpoint, p256dh=data.keys.p256dh,
                               auth=data.keys.auth, created_at=now)
    else:
        row.user_id, row.p256dh, row.auth = user.id, data.keys.p256dh, data.keys.auth
    session.add(row)
    session.flush()
    _keep_newest(session, user.id)
    session.commit()
    return PushSubscriptionPublic.model_validate(row, from_attributes=True)


def _keep_newest(session: Session, user_id: int) -> None:
    rows = session.exec(select(PushSubscription).where(PushSubscription.user_id == user_id)
                        .order_by(PushSubscription.created_at.desc(), PushSubscription.id.desc())).all()
    for old in rows[MAX_DEVICES:]:
        session.delete(old)


def unsubscribe_push(*, session: Session, user: User, endpoint: str) -> None:
    """Forget one of this user's devices; 404 if it is not theirs."""
    row = session.exec(select(PushSubscription).where(PushSubscription.endpoint == endpoint,
                                                      PushSubscription.user_id == user.id)).first()
    if row is None:
        raise NotFound()
    session.delete(row)
    session.commit()


def list_subscriptions(*, session: Session, user: User) -> list[PushSubscriptionPublic]:
    """This user's devices."""
    rows = session.exec(select(PushSubscription).where(PushSubscription.user_id == user.id)
                        .order_by(PushSubscription.id)).all()
    return [PushSubscriptionPublic.model_validate(r, from_attributes=True) for r in rows]


def list_deliveries(*, session: Session, user: User, limit: int = 50) -> list[DeliveryPublic]:
    """This user's latest deliveries, newest first (what was sent, retried, failed)."""
    rows = session.exec(select(Delivery).where(Delivery.user_id == user.id)
                        .order_by(Delivery.id.desc()).limit(limit)).all()
    return [DeliveryPublic.model_validate(r, from_attributes=True) for r in rows]
