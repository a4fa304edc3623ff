"""Web Push: the application server key, subscriptions (several devices per user), preferences and
the user's own delivery record."""
from flask import Response

from models.notifications import (DeliveryPublic, PreferencesPublic, PreferencesUpdate, PublicKey,
                                  PushSubscriptionCreate, PushSubscriptionDelete, PushSubscriptionPublic)
from models.types import utcnow
from server import db
from server.api import blueprint, reply
from server.auth import current_user
from server.services import preferences, push
from server.state import state

api = blueprint("push", "通知", "Notifications")


@api.get("/push/public-key", responses={200: PublicKey})
def public_key():
    """The VAPID application server key (base64url) for pushManager.subscribe()."""
    from server.notify import vapid_of
    from server.vapid import public_key_b64

    return reply(PublicKey(public_key=public_key_b64(vapid_of(state()))))


@api.post("/push/subscriptions", responses={201: PushSubscriptionPublic})
def subscribe(body: PushSubscriptionCreate):
    """Keep this browser's push subscription (https on a known push service only)."""
    from server.notify import endpoint_policy

    return reply(push.subscribe_push(session=db.session(), user=current_user(), data=body,
                                     policy=endpoint_policy(state()), now=utcnow()), 201)


@api.get("/push/subscriptions", responses={200: PushSubscriptionPublic})
def subscriptions():
    """This user's subscribed devices."""
    return reply(push.list_subscriptions(session=db.session(), user=current_user()))


@api.delete("/push/subscriptions", responses={204: None})
def unsubscribe(body: PushSubscriptionDelete):
    """Forget this browser's subscription."""
    push.unsubscribe_push(session=db.session(), user=current_user(), endpoint=body.endpoint)
    return Response(status=204)


@api.get("/push/preferences", responses={200: PreferencesPublic})
def get_preferences():
    """Which channels, and quiet hours."""
    return reply(preferences.get_preferences(session=db.session(), user=current_user()))


@api.put("/push/preferences", responses={200: PreferencesPublic})
def put_preferences(body: PreferencesUpdate):
    """Turn channels on or off; set or clear quiet hours (never applied to SOS or a live offer)."""
    return reply(preferences.update_preferences(session=db.session(), user=current_user(), data=body))


@api.get("/push/deliveries", responses={200: DeliveryPublic})
def deliveries():
    """This user's latest notifications and how each went."""
    return reply(push.list_deliveries(session=db.session(), user=current_user()))
