"""The clock's plan jobs, one engine-level runner each (server/jobs.py schedules them).

Each runner takes `now` (tests drive a controlled clock; the scheduler passes none and the runner
reads the time once) and is idempotent: whatever it does is decided from rows, and every write is
guarded by a unique key, so a late run, a re-run or a second clock by mistake adds nothing twice.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.engine import Engine

from models.engine import write_session
from models.types import utcnow
from server.cooperate import give_way
from server.services.checkins import check_deadlines
from server.services.plan_visits import alert_late_care_visits, assign_plan_visits, send_reminders
from server.services.plans import materialise_plans
from server.steps.directory import ProviderDirectory

log = logging.getLogger(__name__)
# Plans per transaction: ~50k visits from scratch (the writer lock held about half a second on a fast
# hour, once after a first start or a two-week outage), ~4k on a later day (~50 ms). Fewer, larger
# transactions write fewer WAL checkpoints: 5,000 took 5.5–5.8 s for 100k plans × 14 days, 10,000 4.8–5.0 s.
MATERIALISE_BATCH = 10_000


def run_materialise(engine: Engine, now: datetime | None = None, batch: int = MATERIALISE_BATCH) -> int:
    """Make every active plan's visits up to the end of the local day 14 days ahead; returns how many were new."""
    now = now or utcnow()
    after, total = 0, 0
    while True:
        with write_session(engine) as session:
            added, after = materialise_plans(session=session, now=now, after_id=after, limit=batch)
        total += added
        if not after:
            break
        give_way()
    log.info("plans: %d visits materialised", total)
    return total


def run_assign(engine: Engine, directory: ProviderDirectory, now: datetime | None = None) -> dict:
    """Offer the plan visits entering the dispatch horizon to chosen providers (continuity first)."""
    with write_session(engine) as session:
        result = assign_plan_visits(session=session, directory=directory, now=now or utcnow())
    log.info("plans: assignment %s", result)
    return result


def run_reminders(engine: Engine, now: datetime | None = None) -> dict:
    """Reminders (the evening before, an hour before) and late 关爱探访 alerts."""
    now = now or utcnow()
    with write_session(engine) as session:
        result = send_reminders(session=session, now=now)
    with write_session(engine) as session:
        result |= alert_late_care_visits(session=session, now=now)
    return result


def run_checkins(engine: Engine, now: datetime | None = None) -> dict:
    """每日平安: today's missed deadlines to family, an hour on to staff."""
    with write_session(engine) as session:
        return check_deadlines(session=session, now=now or utcnow())
