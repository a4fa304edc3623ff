"""What each outbox event tells a person away from the app: kind, urgency, lifetime, screen, text.

Texts are short and carry ids, a service name or a senior's name, never an address, a phone
number or health details. `notice_for` reads an event as the recipient of this role should hear
it; None means the event is not worth a notification to them (Socket.IO still carries it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

from dispatch.catalog import Role, ServiceType

HIGH, NORMAL, LOW = "high", "normal", "low"
FAMILY_SIDE = frozenset({Role.SENIOR, Role.FAMILY})


@dataclass(frozen=True)
class Notice:
    kind: str
    ttl: int  # seconds a push service keeps it for an offline phone (> 0)
    urgency: str  # RFC 8030 Urgency
    topic: str  # RFC 8030 Topic: a newer notice with the same topic replaces an older one
    url: str  # the screen a tap opens
    ids: dict = field(default_factory=dict)
    urgent: bool = False  # also by SMS
    bypass_quiet: bool = False  # SOS and a provider's live offer ring even in quiet hours
    service: str | None = None
    name: str | None = None


# Request statuses each side hears about: the provider made most changes themselves.
_REQUEST_KINDS = {
    "assigned": ("request_assigned", HIGH, 6 * 3600),
    "en_route": ("request_en_route", HIGH, 1800),
    "in_service": ("request_arrived", NORMAL, 1800),
    "completed": ("request_completed", LOW, 24 * 3600),
    "cancelled": ("request_cancelled", NORMAL, 6 * 3600),
    "escalated": ("request_escalated", HIGH, 6 * 3600),
}
_PROVIDER_HEARS = frozenset({"assigned", "cancelled"})
_STAFF_HEARS = frozenset({"escalated"})


def notice_for(event_type: str, payload: dict, role: Role | str, *, now: datetime) -> Notice | None:
    """The notice an event makes for a recipient of this role, or None."""
    role = Role(role)
    if event_type == "offer_created" and role == Role.PROVIDER:
        offer = payload.get("offer") or {}
        ttl = _seconds_until(offer.get("expires_at"), now, default=90)
        return Notice("offer", ttl, HIGH, f"offer{offer.get('id')}", "/",
                      {"offer_id": offer.get("id"), "request_id": offer.get("request_id")},
                      bypass_quiet=True, service=offer.get("service_type"))
    if event_type == "offer_withdrawn" and role == Role.PROVIDER:
        # Same topic as the offer: the phone replaces "new offer" with "taken" rather than adding one.
        return Notice("offer_withdrawn", 300, NORMAL, f"offer{payload.get('offer_id')}", "/",
                      {"offer_id": payload.get("offer_id")})
    if event_type in ("sos_alert", "sos_updated"):
        return _sos_notice(event_type, payload.get("sos") or {}, role)
    if event_type in ("request_updated", "care_visit_late", "visit_reminder"):
        return _request_notice(event_type, payload.get("request") or {}, role)
    if event_type in ("checkin_missed", "checkin_ok"):
        return _checkin_notice(event_type, payload.get("checkin") or {}, role)
    return None


def _checkin_notice(event_type: str, checkin: dict, role: Role) -> Notice | None:
    """每日平安: a senior has not checked in by their time (family by SMS too), then has."""
    if role not in (Role.FAMILY, Role.CENTER_STAFF, Role.ADMIN):
        return None
    sid = checkin.get("senior_id")
    missed = event_type == "checkin_missed"
    return Notice("checkin_missed" if missed else "checkin_ok", 6 * 3600, HIGH if missed else NORMAL, f"chk{sid}",
                  screen(role, senior_id=sid), {"senior_id": sid},
                  urgent=missed and role == Role.FAMILY, name=checkin.get("senior_name"))


def _request_notice(event_type: str, request: dict, role: Role) -> Notice | None:
    rid, service, senior_id = request.get("id"), request.get("service_type"), request.get("senior_id")
    ids = {"request_id": rid}
    if event_type == "care_visit_late":  # a care visit should have begun and has not
        if role != Role.PROVIDER and not role.is_staff:
            return None
        return Notice("visit_not_started", 3600, HIGH, f"late{rid}", screen(role, request_id=rid), ids,
                      urgent=role == Role.PROVIDER, service=service)
    if event_type == "visit_reminder":
        return Notice("visit_reminder", 3600, NORMAL, f"rem{rid}", screen(role, request_id=rid, senior_id=senior_id),
                      ids, service=service)
    status = request.get("status")
    if status not in _REQUEST_KINDS:
        return None
    if role == Role.PROVIDER and status not in _PROVIDER_HEARS:
        return None
    if role.is_staff and status not in _STAFF_HEARS:
        return None
    if role not in FAMILY_SIDE | {Role.PROVIDER} and not role.is_staff:
        return None
    kind, urgency, ttl = _REQUEST_KINDS[status]
    url = screen(role, request_id=rid, senior_id=senior_id)
    # An escalation reaches the family by SMS too: nobody took the visit.
    return Notice(kind, ttl, urgency, f"req{rid}", url, ids, urgent=kind == "request_escalated" and role == Role.FAMILY,
                  service=service)


def _sos_notice(event_type: str, sos: dict, role: Role) -> Notice | None:
    sid, status = sos.get("id"), sos.get("status")
    ids = {"sos_id": sid, "senior_id": sos.get("senior_id")}
    name = sos.get("senior_name")
    if event_type == "sos_alert":
        # The senior who pressed it knows; everyone else hears it now, by SMS too unless staff
        # (their console shows it) — and again when the sweeper escalates an unanswered one.
        if role == Role.SENIOR:
            return None
        return Notice("sos", 3600, HIGH, f"sos{sid}", screen(role, senior_id=sos.get("senior_id")), ids, urgent=role in (Role.FAMILY, Role.PROVIDER),
                      bypass_quiet=True, name=name)
    kind = "sos_resolved" if status == "resolved" else "sos_acknowledged"
    return Notice(kind, 3600, NORMAL if kind == "sos_acknowledged" else LOW, f"sos{sid}", screen(role, senior_id=sos.get("senior_id")), ids,
                  bypass_quiet=True, name=name)


def screen(role: Role, *, request_id: int | None = None, senior_id: int | None = None) -> str:
    """The app screen a tap opens (the PWA's routes): a provider's job, a family member's senior,
    else the home screen (a senior's visits and SOS, a provider's offers, the staff console)."""
    if role == Role.PROVIDER and request_id is not None:
        return f"/job/{request_id}"
    if role == Role.FAMILY and senior_id is not None:
        return f"/senior/{senior_id}"
    return "/"


def _seconds_until(value: str | None, now: datetime, *, default: int) -> int:
    if not value:
        return default
    try:
        left = (datetime.fromisoformat(value) - now).total_seconds()
    except (TypeError, ValueError):
        return default
    return max(int(left), 30)


_TEXTS = {
    "offer": ("新的服务单 · {service}", "附近有一单{service}，请尽快查看并接单。",
              "New job · {service}", "A {service} visit nearby is waiting for you."),
    "offer_withdrawn": ("服务单已结束", "这单已由他人接下或已取消。",
                        "Job no longer available", "Someone else took it, or it was cancelled."),
    "request_assigned": ("已派单 · {service}", "服务人员已接单。", "Booked · {service}", "A carer has taken your visit."),
    "request_en_route": ("服务人员在路上", "{service}服务人员正在赶来。", "On the way", "Your {service} carer is on the way."),
    "request_arrived": ("服务人员已到达", "{service}服务已开始。", "Arrived", "Your {service} visit has started."),
    "request_completed": ("服务已完成", "{service}服务已完成，欢迎评价。", "Visit done",
                          "Your {service} visit is done. Please rate it."),
    "request_cancelled": ("服务已取消", "{service}服务单已取消。", "Visit cancelled", "The {service} visit was cancelled."),
    "request_escalated": ("暂未找到服务人员", "{service}服务已转社区中心人工安排。", "No carer yet",
                          "The community center is arranging your {service} visit."),
    "visit_not_started": ("服务未按时开始", "{service}服务还没有开始，请查看。", "Visit not started",
                          "The {service} visit has not started on time."),
    "visit_reminder": ("服务提醒", "{service}服务即将开始。", "Reminder", "Your {service} visit starts soon."),
    "checkin_missed": ("今日未报平安 · {name}", "{name} 今天还没有报平安，请联系确认。", "No check-in · {name}",
                       "{name} has not checked in today. Please make contact."),
    "checkin_ok": ("已报平安 · {name}", "{name} 已报平安。", "Checked in · {name}", "{name} has checked in."),
    "sos": ("紧急求助 · {name}", "{name} 按下了紧急求助，请立即查看。", "SOS · {name}",
            "{name} has pressed SOS. Please check now."),
    "sos_acknowledged": ("求助已有人响应", "{name} 的求助已有人响应。", "SOS answered", "Someone is on {name}'s SOS."),
    "sos_resolved": ("求助已解除", "{name} 的求助已处理完毕。", "SOS resolved", "{name}'s SOS is resolved."),
}


def text(notice: Notice, locale: str) -> tuple[str, str]:
    """The notice's title and body in the user's language (zh-CN unless en)."""
    zh_title, zh_body, en_title, en_body = _TEXTS[notice.kind]
    english = (locale or "").lower().startswith("en")
    service = _service_name(notice.service, english)
    name = notice.name or ("长者" if not english else "A senior")
    title, body = (en_title, en_body) if english else (zh_title, zh_body)
    return title.format(service=service, name=name), body.format(service=service, name=name)


def _service_name(code: str | None, english: bool) -> str:
    try:
        kind = ServiceType(code)
    except ValueError:
        return "service" if english else "服务"
    return kind.name_en.lower() if english else kind.name_zh


def in_quiet_hours(local: time, start: time | None, end: time | None) -> bool:
    """Whether a local time falls in [start, end) (which may wrap past midnight)."""
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end
