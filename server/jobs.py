"""Scheduled jobs (APScheduler 3): in process by default, in `linli clock` when scaled out.

Every job is idempotent and catches up after a missed tick: coalesce, no overlap, a grace time.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.engine import Engine

from dispatch.lifecycle import RequestStatus
from models.engine import read_session, write_session
from models.types import utcnow
from server.cooperate import give_way
from server.plan_jobs import run_assign, run_checkins, run_materialise, run_reminders
from server.services.reoffers import reoffer_request, requests_to_reoffer
from server.services.retention import purge_stale_data
from server.services.sos import escalate_unacknowledged
from server.services.sweeper import (ADVANCE_BATCH, ADVANCE_PER_TICK, EXPIRE_PER_TICK, advance_request, advance_requests,
                                     expire_offers, requests_to_advance, tick_work)
from server.steps.directory import ProviderDirectory

log = logging.getLogger(__name__)
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}


def run_retention(engine: Engine) -> None:
    """Hourly: purge expired sign-ins and stale duty positions."""
    with write_session(engine) as session:
        log.info("retention: %s", purge_stale_data(session=session, now=utcnow()))


SWEEP_SECONDS = 5  # between a tick that left nothing and the next
# A tick that left work (`left`) is followed by the next this soon: other jobs and threads get a
# turn between two runs, and the clock does not idle while requests wait.
SWEEP_AGAIN_SECONDS = 0.05
# A tick stops advancing requests after this long: each run stays bounded (shutdown and the other
# jobs wait for at most one), and the next run goes on with the rest (oldest first).
SWEEP_BUDGET_SECONDS = 3.0
SWEEP_WORKERS = 2  # batches advanced side by side on PostgreSQL
_MOVED = {str(RequestStatus.OFFERING), str(RequestStatus.ESCALATED)}  # what an advanced request becomes


def _expire_and_read(engine: Engine, now: datetime, limit: int) -> tuple[int, list[int], bool]:
    """(offers expired, requests to advance, any SOS open). A quiet tick is one read transaction: a
    write one (the writer lock, a commit) is opened only when an offer is past its deadline."""
    with read_session(engine) as session:
        offers_due, sos_open = tick_work(session=session, now=now)
        if not offers_due:
            return 0, requests_to_advance(session=session, now=now, limit=limit), sos_open
    with write_session(engine) as session:  # expire first: requests whose offers all ended advance this tick
        expired = expire_offers(session=session, now=now)
    with read_session(engine) as session:
        return expired, requests_to_advance(session=session, now=now, limit=limit), sos_open


def run_sweep(engine: Engine, directory: ProviderDirectory, *, now: datetime | None = None,
              budget_s: float = SWEEP_BUDGET_SECONDS, advance_limit: int = ADVANCE_PER_TICK) -> dict:
    """One tick: expire offers, open next waves or escalate, escalate unanswered SOS.

    Bounded work per tick: at most EXPIRE_PER_TICK offers and advance_limit requests, the oldest
    first, and no batch begun after budget_s; whatever is left goes to the next tick (`left` in the
    result says so, and the scheduler then runs the next at once: _add_sweep)."""
    now, t0 = now or utcnow(), time.perf_counter()
    expired, ids, sos_open = _expire_and_read(engine, now, advance_limit)
    t_read = time.perf_counter()
    batches = [ids[k:k + ADVANCE_BATCH] for k in range(0, len(ids), ADVANCE_BATCH)]

    def advance(batch: list[int]) -> tuple[int, int]:  # one transaction a batch: reads and writes shared
        if time.perf_counter() - t0 > budget_s:
            return 0, 0
        with write_session(engine) as session:
            try:
                done = advance_requests(session=session, request_ids=batch, directory=directory, now=now)
            except Exception:
                log.exception("sweep: requests %s … %s, one by one now", batch[0], batch[-1])
                done = {}
        for request_id in (batch if not done else ()):  # one request's trouble doesn't hold up the rest
            with write_session(engine) as session:
                try:
                    done[request_id] = advance_request(session=session, request_id=request_id,
                                                       directory=directory, now=now)
                except Exception:
                    log.exception("sweep: request %s", request_id)
        give_way()  # between transactions: a sweep may be long
        return len(batch), sum(outcome in _MOVED for outcome in done.values())

    if engine.dialect.name == "sqlite":  # one writer at a time anyway
        counts = [advance(batch) for batch in batches]
    else:
        # A batch waits on a few round trips; two side by side (each on its own connection and its
        # own requests' locks) keep the clock busy while the other waits.
        with ThreadPoolExecutor(SWEEP_WORKERS, thread_name_prefix="linli-sweep") as pool:
            counts = list(pool.map(advance, batches))
    tried, advanced = sum(c[0] for c in counts), sum(c[1] for c in counts)
    sos = 0
    if sos_open:
        with write_session(engine) as session:
            sos = escalate_unacknowledged(session=session, now=now)
    left = expired >= EXPIRE_PER_TICK or len(ids) == advance_limit or tried < len(ids)
    result = {"expired": expired, "advanced": advanced, "left": left, "sos_escalated": sos}
    log.info("sweep tick %.1f ms (expiring and reading %.1f ms): %s", (time.perf_counter() - t0) * 1000,
             (t_read - t0) * 1000, result)
    return result


REOFFER_SECONDS = 30
_reoffer_cursor = {"after": 0}  # where the next retry goes on: each looks at a bounded slice


def run_reoffers(engine: Engine, directory: ProviderDirectory) -> int:
    """Every 30 s: offer escalated requests still wanted to providers who can take them now
    (server.services.reoffers); one transaction each."""
    now = utcnow()
    with read_session(engine) as session:
        scan = requests_to_reoffer(session=session, directory=directory, now=now, after=_reoffer_cursor["after"])
    _reoffer_cursor["after"] = scan.next_after
    for request_id in scan.request_ids:
        with write_session(engine) as session:
            try:
                reoffer_request(session=session, request_id=request_id, directory=directory, now=now)
            except Exception:
                log.exception("reoffer: request %s", request_id)
        give_way()
    return len(scan.request_ids)


def add_jobs(scheduler: BaseScheduler, engine: Engine, directory: ProviderDirectory) -> None:
    """Register every job on scheduler."""
    scheduler.add_job(run_retention, "interval", hours=1, args=[engine], id="retention", replace_existing=True)
    scheduler.add_job(run_reoffers, "interval", seconds=REOFFER_SECONDS, args=[engine, directory],
                      id="reoffers", replace_existing=True)
    _add_sweep(scheduler, engine, directory)
    _add_plan_jobs(scheduler, engine, directory)


def _add_sweep(scheduler: BaseScheduler, engine: Engine, directory: ProviderDirectory) -> None:
    """The sweep as a chain of one-off ("date") runs: each finished run arms the next, at once when
    it left work, else SWEEP_SECONDS later. Re-armed by a listener, not by the run itself: the
    executor counts a run as running until it has returned, so a run that armed its own successor
    for now would have it refused as over max_instances ("skipped: maximum number of running
    instances reached") and, a one-off job, dropped. The listener is called once the run is counted
    out, on success, on an exception (the chain never breaks) and on a miss; while a run goes on there
    is no "sweep" job to overlap it."""
    if not getattr(scheduler, "_linli_sweep_armed", False):
        scheduler.add_listener(lambda event: _rearm_sweep(scheduler, engine, directory, event),
                               EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
        scheduler._linli_sweep_armed = True
    _arm_sweep(scheduler, engine, directory, SWEEP_SECONDS)


def _arm_sweep(scheduler: BaseScheduler, engine: Engine, directory: ProviderDirectory, delay_s: float) -> None:
    # misfire_grace_time=None: the one run there is always runs, however late (it decides from rows).
    scheduler.add_job(run_sweep, "date", run_date=datetime.now(timezone.utc) + timedelta(seconds=delay_s),
                      args=[engine, directory], id="sweep", replace_existing=True, misfire_grace_time=None)


def _rearm_sweep(scheduler: BaseScheduler, engine: Engine, directory: ProviderDirectory,
                 event: JobExecutionEvent) -> None:
    if event.job_id != "sweep":
        return
    left = event.code == EVENT_JOB_EXECUTED and isinstance(event.retval, dict) and bool(event.retval.get("left"))

    def arm() -> None:
        try:
            _arm_sweep(scheduler, engine, directory, SWEEP_AGAIN_SECONDS if left else SWEEP_SECONDS)
        except Exception:
            log.exception("sweep: the next run could not be armed")

    # From a thread of its own: a run that ends before the executor has registered its callback
    # (a quiet tick) calls this listener on the scheduler's thread, in the middle of the pass that
    # submitted the run, which removes the spent one-off job "sweep" afterwards, by id: armed from
    # there, the next run would be removed with it. Another thread waits for that pass's lock.
    threading.Thread(target=arm, name="linli-sweep-arm", daemon=True).start()


def _add_plan_jobs(scheduler: BaseScheduler, engine: Engine, directory: ProviderDirectory) -> None:
    """Plans and check-ins (docs/plans.md): every job decides from rows, so a late run is harmless
    and always wanted (misfire_grace_time=None: run however late), and a backlog of missed runs is
    one run (coalesce). Materialising and assignment also run once at start, to catch up at once."""
    now = datetime.now(timezone.utc)
    catch_up = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None, "replace_existing": True}
    scheduler.add_job(run_materialise, "interval", hours=1, args=[engine], id="plans_materialise",
                      next_run_time=now, **catch_up)
    scheduler.add_job(run_assign, "interval", hours=1, args=[engine, directory], id="plans_assign",
                      next_run_time=now + timedelta(seconds=30), **catch_up)
    scheduler.add_job(run_reminders, "interval", seconds=60, args=[engine], id="plans_reminders", **catch_up)
    scheduler.add_job(run_checkins, "interval", seconds=60, args=[engine], id="checkin_deadlines", **catch_up)


def start_background(engine: Engine, directory: ProviderDirectory) -> BackgroundScheduler:
    """The embedded default: jobs run on a thread of the serving process (their commits wake the relay)."""
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults=JOB_DEFAULTS)
    add_jobs(scheduler, engine, directory)
    scheduler.start()
    return scheduler


def run_clock(engine: Engine) -> None:
    """The scaled-out clock process: exactly one runs the jobs, in the foreground."""
    scheduler = BlockingScheduler(timezone="UTC", job_defaults=JOB_DEFAULTS)
    # As a server's: other processes' provider changes reach it within 0.1 s (a counter read per
    # request advanced, otherwise).
    add_jobs(scheduler, engine, ProviderDirectory(engine, check_every=0.1))
    scheduler.start()
