"""A claimed delivery with what sending it needs, and its rendering into a push payload or an SMS text.

Rendered at send time from the outbox event (the one source of truth), in the recipient's locale.
A push payload holds the kind, ids, a short title and body, the screen to open and the tag
(= Topic) — never an address, a phone number or health details.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from dispatch.deliveries import Channel
from dispatch.notices import Notice, in_quiet_hours, notice_for, text
from server.notify.push import MAX_PLAINTEXT, PushMessage


@dataclass(frozen=True)
class DueDelivery:
    id: int
    claim: str
    attempts: int
    channel: Channel
    event_id: int
    event_type: str
    payload: dict
    user_id: int
    role: str
    locale: str
    phone: str | None
    subscription_id: int | None
    endpoint: str | None  # None: the subscription was deleted since the delivery was queued
    p256dh: str | None
    auth: str | None
    quiet_start: str | None
    quiet_end: str | None


def parse_hhmm(value: str | None) -> time | None:
    return None if not value else time(int(value[:2]), int(value[3:5]))


def quiet_now(due: DueDelivery, now: datetime, zone: ZoneInfo) -> bool:
    """Whether the recipient's quiet hours hold now (local time)."""
    return in_quiet_hours(now.astimezone(zone).time().replace(tzinfo=None), parse_hhmm(due.quiet_start),
                          parse_hhmm(due.quiet_end))


def notice_of(due: DueDelivery, now: datetime) -> Notice | None:
    return notice_for(due.event_type, due.payload, due.role, now=now)


def push_payload(due: DueDelivery, notice: Notice, *, silent: bool) -> bytes:
    """The JSON the service worker gets (well under RFC 8291's 3,993 bytes)."""
    title, body = text(notice, due.locale)
    # `urgent` keeps the notification up until touched (the service worker's requireInteraction).
    data = {"kind": notice.kind, "event_id": due.event_id, "title": title, "body": body, "url": notice.url,
            "tag": notice.topic, "ids": notice.ids, "silent": silent, "urgency": notice.urgency,
            "urgent": notice.urgent or notice.kind in ("sos", "offer"),
            "lang": "en" if due.locale.lower().startswith("en") else "zh-CN"}
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    if len(raw) > MAX_PLAINTEXT:  # only a very long name could do this: drop the texts, keep the ids
        data.update(title=title[:40], body="")
        raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return raw


def push_message(due: DueDelivery, notice: Notice, *, silent: bool) -> PushMessage:
    return PushMessage(endpoint=due.endpoint, p256dh=due.p256dh, auth=due.auth,
                       payload=push_payload(due, notice, silent=silent), ttl=notice.ttl, urgency=notice.urgency,
                       topic=notice.topic)


def sms_text(due: DueDelivery, notice: Notice) -> str:
    """【邻里】 and the notice's title and body: short, no address, phone or health details."""
    title, body = text(notice, due.locale)
    brand = "[Linli]" if due.locale.lower().startswith("en") else "【邻里】"
    return f"{brand}{title}: {body}"[:120] if brand == "[Linli]" else f"{brand}{title}：{body}"[:120]
