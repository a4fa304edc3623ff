"""Notification channels beside Socket.IO: Web Push (VAPID) and SMS for urgent kinds.

One notifier per server process, built from the settings and kept in the app state; `start` hooks
it to the outbox (woken after every commit that wrote events) and starts its loop.
"""
from __future__ import annotations

import hashlib
import hmac
from zoneinfo import ZoneInfo

from typing import TYPE_CHECKING

from server.notify.endpoints import EndpointPolicy
from server.vapid import VapidSigner, load_or_create

if TYPE_CHECKING:
    from server.notify.worker import Notifier


def vapid_of(held):
    """The instance's VAPID key pair (made on first use), cached in the app state."""
    if "vapid" not in held.extras:
        held.extras["vapid"] = load_or_create(held.settings.instance_path)
    return held.extras["vapid"]


def endpoint_policy(held) -> EndpointPolicy:
    """Which push endpoints this server accepts and sends to."""
    if "push_policy" not in held.extras:
        held.extras["push_policy"] = EndpointPolicy(held.settings.push_allowed_hosts)
    return held.extras["push_policy"]


def sms_secret(settings) -> str:
    """LINLI_SMS_WEBHOOK_SECRET, or a key derived from the app secret when it is unset."""
    if settings.sms_webhook_secret:
        return settings.sms_webhook_secret
    return hmac.new(settings.secret_key.encode(), b"linli-sms-webhook", hashlib.sha256).hexdigest()


def notifier_of(held, **options) -> Notifier:
    """This process's notifier (built on first use)."""
    if "notifier" not in held.extras:
        from server.notify.push import PushChannel
        from server.notify.sms import gateway_for
        from server.notify.worker import Notifier

        settings = held.settings
        push = PushChannel(VapidSigner(vapid_of(held), settings.vapid_subject), endpoint_policy(held))
        held.extras["notifier"] = Notifier(held.engine, push, gateway_for(settings.sms_webhook_url,
                                                                          sms_secret(settings)),
                                           zone=ZoneInfo(settings.timezone), **options)
    return held.extras["notifier"]


def start(held) -> Notifier | None:
    """Wake the notifier after every commit that wrote events, and start its loop (unless
    LINLI_NOTIFY=off: a process that should leave notifications to the others)."""
    import os

    from server.steps.outbox import wake_on_commit

    if os.environ.get("LINLI_NOTIFY", "on").lower() in ("off", "0", "false", "no"):
        return None

    notifier = notifier_of(held)
    wake_on_commit(held.engine, notifier.kick)
    notifier.start()
    return notifier
