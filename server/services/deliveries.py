"""Notification delivery use cases: outbox events into deliveries, claiming due ones, recording attempts.

The outbox is the one source of truth. `dispatch_events` claims new events (a row in event_notice
per event, inserted ON CONFLICT DO NOTHING, so of two processes exactly one turns an event into
deliveries) and writes one delivery per recipient, channel and device, in one transaction. A
delivery is claimed for sending by a conditional UPDATE that moves its next attempt past a lease
and stamps a claim token; its outcome is recorded only under that token. A sender that dies
between claim and record loses nothing: the lease runs out and another sender takes it.
"""
from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, exists, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from dispatch.catalog import Role
from dispatch.deliveries import Channel, DeliveryStatus, RetryPolicy, check_delivery_transition, after_attempt
from dispatch.notices import notice_for
from models.accounts import StaffCommunity, User
from models.events import Event
from models.notifications import Delivery, EventNotice, NotificationPreference, PushSubscription
from server.notify.messages import DueDelivery, parse_hhmm
from server.notify.push import Attempt
from dispatch.notices import in_quiet_hours

NOTIFIABLE = ("offer_created", "offer_withdrawn", "request_updated", "sos_alert", "sos_updated",
              "care_visit_late", "visit_reminder", "checkin_missed", "checkin_ok")
# To the community's staff: SOS, escalations, late care visits, missed daily check-ins.
COMMUNITY_NOTIFIABLE = ("sos_alert", "request_updated", "care_visit_late", "checkin_missed")
_E, _D, _N = Event.__table__.c, Delivery.__table__.c, EventNotice.__table__.c
_S, _U, _P = PushSubscription.__table__.c, User.__table__.c, NotificationPreference.__table__.c
# The kinds are written into the SQL once: an expanding IN was re-rendered on every run.
_KINDS = text("event.type IN ({})".format(", ".join(f"'{k}'" for k in NOTIFIABLE)))
_STAFF_KINDS = text("event.type IN ({})".format(", ".join(f"'{k}'" for k in COMMUNITY_NOTIFIABLE)))
_NEW_EVENTS = (select(_E.id, _E.type, _E.user_id, _E.community_id, _E.payload, _E.created_at)
               .where(_E.id > bindparam("after"), _KINDS, or_(_E.user_id.is_not(None), _STAFF_KINDS),
                      ~exists().where(_N.event_id == _E.id))
               .order_by(_E.id).limit(bindparam("limit")))


_INSERT_DELIVERIES = insert(Delivery.__table__).returning(_D.id, _D.claim, sort_by_parameter_order=True)


def latest_dispatched(*, session: Session) -> int:
    """Where a new dispatcher starts: the newest event already dispatched, or (on a database that
    never dispatched) the newest event, so history is not sent to phones."""
    from sqlalchemy import func

    last = session.execute(select(func.max(_N.event_id))).scalar()
    if last is None:
        last = session.execute(select(func.max(_E.id))).scalar() or 0
    session.rollback()
    return last


def has_new_events(*, session: Session, after: int) -> bool:
    """Whether any event after `after` waits to be dispatched (a read: no write lock for an idle poll)."""
    return session.execute(_NEW_EVENTS, {"after": after, "limit": 1}).first() is not None


def has_due_deliveries(*, session: Session, now: datetime) -> bool:
    """Whether any queued delivery is due (a read)."""
    return session.execute(_DUE_IDS, {"now": now, "limit": 1}).first() is not None


def dispatch_events(*, session: Session, now: datetime, after: int, claim: str, policy: RetryPolicy,
                    zone: ZoneInfo, limit: int = 200) -> tuple[int, list[DueDelivery], bool]:
    """Turn events after `after` not yet dispatched into deliveries; those due now are claimed by
    `claim` at once. Returns the newest event id seen, the claimed deliveries, and whether more
    events may wait (a full batch)."""
    events = session.execute(_NEW_EVENTS, {"after": after, "limit": limit}).all()
    if not events:
        session.rollback()
        return after, [], False
    won = _claim_events(session, [e.id for e in events], now)
    wanted = [e for e in events if e.id in won and _anyone_hears(e)]
    rows = _delivery_rows(session, wanted, now=now, claim=claim, policy=policy, zone=zone) if wanted else []
    ids: list[int] = []
    if rows:
        result = session.execute(_INSERT_DELIVERIES, rows)
        ids = [r.id for r in result.all() if r.claim == claim]
    due = load_due(session, ids, claim)
    session.commit()
    return max(e.id for e in events), due, len(events) == limit


def _anyone_hears(event) -> bool:
    """Whether the event makes a notice for any role (most request changes do not: a booking's
    "offering" reaches no one away from the app)."""
    if event.user_id is None:
        return notice_for(event.type, event.payload, Role.CENTER_STAFF, now=event.created_at) is not None
    return any(notice_for(event.type, event.payload, role, now=event.created_at) is not None for role in _ROLES)


_ROLES = (Role.PROVIDER, Role.FAMILY, Role.SENIOR, Role.CENTER_STAFF)


# One statement per dialect, built once, run as an executemany (a multi-row VALUES built per call
# was compiled anew every time: a third of the dispatch).
_MARKS = {name: (make(EventNotice.__table__).on_conflict_do_nothing(index_elements=["event_id"])
                 .returning(_N.event_id, sort_by_parameter_order=True))
          for name, make in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))}


def _claim_events(session: Session, event_ids: list[int], now: datetime) -> set[int]:
    stmt = _MARKS[session.get_bind().dialect.name]
    return set(session.execute(stmt, [{"event_id": i, "at": now} for i in event_ids]).scalars().all())


def _recipients(session: Session, events) -> dict[int, list[int]]:
    """Event id → user ids: its own user, or the staff of its community."""
    communities = {e.community_id for e in events if e.user_id is None}
    staff: dict[int, list[int]] = {}
    if communities:
        sc = StaffCommunity.__table__.c
        for user_id, community_id in session.execute(select(sc.user_id, sc.community_id)
                                                     .where(sc.community_id.in_(communities))):
            staff.setdefault(community_id, []).append(user_id)
    return {e.id: [e.user_id] if e.user_id is not None else staff.get(e.community_id, []) for e in events}


def _delivery_rows(session: Session, events, *, now: datetime, claim: str, policy: RetryPolicy,
                   zone: ZoneInfo) -> list[dict]:
    recipients = _recipients(session, events)
    users = {u for ids in recipients.values() for u in ids}
    if not users:
        return []
    people = {r.id: r for r in session.execute(
        select(_U.id, _U.role, _U.phone, _U.is_active, _P.user_id.label("has_pref"), _P.push, _P.sms,
               _P.quiet_start, _P.quiet_end)
        .outerjoin(NotificationPreference.__table__, _P.user_id == _U.id).where(_U.id.in_(users)))}
    devices: dict[int, list[int]] = {}
    for sub_id, user_id in session.execute(select(_S.id, _S.user_id).where(_S.user_id.in_(users))):
        devices.setdefault(user_id, []).append(sub_id)
    lease_until = now + timedelta(seconds=policy.lease_seconds)
    rows = []
    for event in events:
        for user_id in recipients[event.id]:
            person = people.get(user_id)
            if person is None or not person.is_active:
                continue
            notice = notice_for(event.type, event.payload, Role(person.role), now=now)
            if notice is None or (now - event.created_at).total_seconds() > notice.ttl:
                continue  # nothing to tell them, or too late to be worth telling
            pref = person if person.has_pref is not None else None
            base = {"event_id": event.id, "user_id": user_id, "kind": notice.kind, "created_at": now,
                    "status": DeliveryStatus.QUEUED.value, "last_error": None, "sent_at": None}
            if pref is None or pref.push:
                for sub_id in devices.get(user_id, ()):
                    rows.append({**base, "channel": Channel.PUSH.value, "subscription_id": sub_id,
                                 "claim": claim, "attempts": 1, "next_attempt_at": lease_until})
            if notice.urgent and person.phone and (pref is None or pref.sms):
                quiet_until = None if notice.bypass_quiet else _quiet_end(pref, now, zone)
                rows.append({**base, "channel": Channel.SMS.value, "subscription_id": None,
                             "claim": None if quiet_until else claim, "attempts": 0 if quiet_until else 1,
                             "next_attempt_at": quiet_until or lease_until})
    return rows


def _quiet_end(pref, now: datetime, zone: ZoneInfo) -> datetime | None:
    """When the recipient's quiet hours end, if they hold now (an SMS waits for it)."""
    if pref is None:
        return None
    start, end = parse_hhmm(pref.quiet_start), parse_hhmm(pref.quiet_end)
    local = now.astimezone(zone)
    if not in_quiet_hours(local.time().replace(tzinfo=None), start, end):
        return None
    target = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if target <= local:
        target += timedelta(days=1)
    return target.astimezone(now.tzinfo)


_DUE_IDS = (select(_D.id).where(_D.status == DeliveryStatus.QUEUED.value, _D.next_attempt_at <= bindparam("now"))
            .order_by(_D.next_attempt_at).limit(bindparam("limit")))
_CLAIM = (update(Delivery.__table__)
          .where(_D.id.in_(_DUE_IDS.scalar_subquery()), _D.status == DeliveryStatus.QUEUED.value,
                 _D.next_attempt_at <= bindparam("now"))
          .values(claim=bindparam("claim"), attempts=_D.attempts + 1, next_attempt_at=bindparam("lease_until"))
          .returning(_D.id))


def claim_due_deliveries(*, session: Session, now: datetime, claim: str, policy: RetryPolicy,
                         limit: int = 50) -> list[DueDelivery]:
    """Claim up to `limit` queued deliveries whose time has come (retries, quiet-hour SMS, and those
    left by a sender that died), for `lease_seconds`."""
    lease_until = now + timedelta(seconds=policy.lease_seconds)
    ids = session.execute(_CLAIM, {"now": now, "claim": claim, "lease_until": lease_until,
                                   "limit": limit}).scalars().all()
    due = load_due(session, ids, claim)
    session.commit()
    return due


def load_due(session: Session, ids: Iterable[int], claim: str) -> list[DueDelivery]:
    """The claimed deliveries with their event, recipient, device and preferences."""
    ids = list(ids)
    if not ids:
        return []
    rows = session.execute(
        select(_D.id, _D.attempts, _D.channel, _D.event_id, _E.type, _E.payload, _D.user_id, _U.role, _U.locale,
               _U.phone, _D.subscription_id, _S.endpoint, _S.p256dh, _S.auth, _P.quiet_start, _P.quiet_end)
        .join(Event.__table__, _E.id == _D.event_id).join(User.__table__, _U.id == _D.user_id)
        .outerjoin(PushSubscription.__table__, _S.id == _D.subscription_id)
        .outerjoin(NotificationPreference.__table__, _P.user_id == _D.user_id)
        .where(_D.id.in_(ids), _D.claim == claim).order_by(_D.id)).all()
    return [DueDelivery(id=r.id, claim=claim, attempts=r.attempts, channel=Channel(r.channel), event_id=r.event_id,
                        event_type=r.type, payload=r.payload, user_id=r.user_id, role=str(r.role),
                        locale=r.locale or "zh-CN", phone=r.phone, subscription_id=r.subscription_id,
                        endpoint=r.endpoint, p256dh=r.p256dh, auth=r.auth, quiet_start=r.quiet_start,
                        quiet_end=r.quiet_end) for r in rows]


_RECORD = (update(Delivery.__table__)
           .where(_D.id == bindparam("d_id"), _D.claim == bindparam("d_claim"),
                  _D.status == DeliveryStatus.QUEUED.value)
           .values(status=bindparam("d_status"), claim=None, last_error=bindparam("d_error"),
                   sent_at=bindparam("d_sent_at"), next_attempt_at=bindparam("d_next")))


def record_attempts(*, session: Session, results: list[tuple[DueDelivery, Attempt]], now: datetime,
                    policy: RetryPolicy, rng: random.Random | None = None) -> dict[str, int]:
    """Record what each attempt came to, under its claim: sent, retried later (backoff with jitter,
    or the service's Retry-After), failed for good, or gone (the subscription is deleted)."""
    rng = rng or random.Random()
    counts: dict[str, int] = {}
    params, gone = [], set()
    for due, attempt in results:
        target = after_attempt(attempt.verdict, due.attempts, policy)
        check_delivery_transition(DeliveryStatus.QUEUED, target)
        retry_at = now + timedelta(seconds=policy.delay(due.attempts, rng.random(), attempt.retry_after))
        params.append({"d_id": due.id, "d_claim": due.claim, "d_status": target.value,
                       "d_error": (attempt.error or None) and attempt.error[:300],
                       "d_sent_at": now if target is DeliveryStatus.SENT else None,
                       "d_next": retry_at if target is DeliveryStatus.QUEUED else now})
        if target is DeliveryStatus.GONE and due.subscription_id is not None:
            gone.add(due.subscription_id)
        counts[target.value] = counts.get(target.value, 0) + 1
    if params:
        session.execute(_RECORD, params)
    if gone:
        session.execute(delete(PushSubscription.__table__).where(_S.id.in_(gone)))
        session.execute(update(Delivery.__table__)
                        .where(_D.subscription_id.in_(gone), _D.status == DeliveryStatus.QUEUED.value,
                               _D.claim.is_(None))
                        .values(status=DeliveryStatus.GONE.value, last_error="subscription gone"))
    session.commit()
    return counts


def purge_deliveries(*, session: Session, now: datetime, keep_days: int = 30) -> dict[str, int]:
    """Forget finished deliveries and dispatch marks older than keep_days (the newest mark stays:
    it is where a new process starts)."""
    from sqlalchemy import func

    before = now - timedelta(days=keep_days)
    done = session.execute(delete(Delivery.__table__).where(_D.status != DeliveryStatus.QUEUED.value,
                                                             _D.created_at < before)).rowcount
    newest = session.execute(select(func.max(_N.event_id))).scalar() or 0
    marks = session.execute(delete(EventNotice.__table__).where(_N.at < before, _N.event_id < newest,
                                                                 ~exists().where(_D.event_id == _N.event_id))).rowcount
    session.commit()
    return {"deliveries": done, "marks": marks}
