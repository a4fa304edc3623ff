"""The sweep's scheduling (server.jobs._add_sweep) on a real APScheduler: a run that left work is
followed at once by the next, a quiet one waits the interval, an exception does not end the chain,
and runs never overlap nor log APScheduler's "maximum number of running instances" warning. The
sweep itself is replaced by a script of results; nothing here waits on a clock to assert speed."""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from server import jobs

WAIT_S = 30  # a ceiling for a thread to get there, never a measured time


class Script:
    """Stands in for run_sweep: plays its steps in order (a result, or an exception to raise)."""

    def __init__(self, steps, *, hold=None):
        self.steps, self.hold = list(steps), hold
        self.calls, self.running, self.overlaps = [], 0, 0
        self.lock, self.done = threading.Lock(), threading.Event()

    def __call__(self, engine, directory):
        with self.lock:
            self.running += 1
            self.overlaps += self.running > 1
            step = self.steps[len(self.calls)] if len(self.calls) < len(self.steps) else {"left": False}
            self.calls.append(datetime.now(timezone.utc))
        try:
            if self.hold:
                self.hold.wait(WAIT_S)
            if isinstance(step, Exception):
                raise step
            return step
        finally:
            with self.lock:
                self.running -= 1
                self.returned = datetime.now(timezone.utc)
                if len(self.calls) >= len(self.steps):
                    self.done.set()


@pytest.fixture
def scheduler(monkeypatch, caplog):
    sched = BackgroundScheduler(timezone="UTC", job_defaults=jobs.JOB_DEFAULTS)
    caplog.set_level(logging.INFO, logger="apscheduler")
    yield sched
    if sched.running:
        sched.shutdown(wait=True)
    assert "maximum number of running instances" not in caplog.text
    assert "was missed" not in caplog.text


def _start(sched, script, monkeypatch, *, quiet_s: float):
    monkeypatch.setattr(jobs, "run_sweep", script)
    monkeypatch.setattr(jobs, "SWEEP_SECONDS", quiet_s)
    jobs._add_sweep(sched, None, None)  # as add_jobs does, without the other jobs
    sched.start()
    jobs._arm_sweep(sched, None, None, 0)  # the first run now rather than quiet_s after start


def test_a_run_that_left_work_is_followed_at_once(scheduler, monkeypatch):
    script = Script([{"left": True}] * 4 + [{"left": False}])
    _start(scheduler, script, monkeypatch, quiet_s=3600)  # an interval this test could never wait out
    assert script.done.wait(WAIT_S), f"only {len(script.calls)} runs"
    assert len(script.calls) == 5 and script.overlaps == 0


def test_a_quiet_run_waits_the_interval(scheduler, monkeypatch):
    script = Script([{"left": True}, {"left": False}])
    _start(scheduler, script, monkeypatch, quiet_s=3600)
    assert script.done.wait(WAIT_S)
    for _ in range(100):  # the listener arms the next run just after the run returned
        job = scheduler.get_job("sweep")
        if job is not None and job.next_run_time > script.calls[-1]:
            break
        threading.Event().wait(0.05)
    assert job.next_run_time >= script.returned + timedelta(seconds=3600)
    assert len(script.calls) == 2


def test_an_exception_does_not_end_the_chain(scheduler, monkeypatch, caplog):
    script = Script([RuntimeError("database gone"), {"left": True}, RuntimeError("again"), {"left": False}])
    _start(scheduler, script, monkeypatch, quiet_s=0.05)
    assert script.done.wait(WAIT_S), f"only {len(script.calls)} runs"
    assert "database gone" in caplog.text and "again" in caplog.text


def test_runs_longer_than_the_interval_neither_overlap_nor_warn(scheduler, monkeypatch):
    # An interval job whose run outlasts the interval is refused ("skipped: maximum number of running
    # instances reached"); so is a run that arms its own successor for now before it has returned.
    hold = threading.Event()
    script = Script([{"left": True}, {"left": False}, {"left": True}, {"left": False}], hold=hold)
    _start(scheduler, script, monkeypatch, quiet_s=0.01)
    threading.Event().wait(0.3)  # the first run held for 30 intervals
    assert len(script.calls) == 1
    hold.set()
    assert script.done.wait(WAIT_S)
    assert script.overlaps == 0


def test_the_sweep_is_armed_once_however_often_it_is_added(scheduler):
    scheduler.start()
    jobs._add_sweep(scheduler, None, None)
    jobs._add_sweep(scheduler, None, None)  # a second registration replaces, and adds no second listener
    assert [j.id for j in scheduler.get_jobs()] == ["sweep"] and len(scheduler._listeners) == 1
