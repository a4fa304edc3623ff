"""Scheduled jobs (APScheduler 3): in process by default, in `linli clock` when scaled out.

Every job is idempotent and catches up after a missed tick: coalesce, no overlap, a grace time.
"""
from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.engine import Engine

from models.engine import write_session
from models.types import utcnow
from server.services.retention import purge_stale_data

log = logging.getLogger(__name__)
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}


def run_retention(engine: Engine) -> None:
    """Hourly: purge expired sign-ins and stale duty positions."""
    with write_session(engine) as session:
        log.info("retention: %s", purge_stale_data(session=session, now=utcnow()))


def add_jobs(scheduler: BaseScheduler, engine: Engine) -> None:
    """Register every job on scheduler."""
    scheduler.add_job(run_retention, "interval", hours=1, args=[engine], id="retention", replace_existing=True)


def start_background(engine: Engine) -> BackgroundScheduler:
    """The embedded default: jobs run on a thread of the serving process."""
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults=JOB_DEFAULTS)
    add_jobs(scheduler, engine)
    scheduler.start()
    return scheduler


def run_clock(engine: Engine) -> None:
    """The scaled-out clock process: exactly one runs the jobs, in the foreground."""
    scheduler = BlockingScheduler(timezone="UTC", job_defaults=JOB_DEFAULTS)
    add_jobs(scheduler, engine)
    scheduler.start()
