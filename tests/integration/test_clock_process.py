"""`linli clock` as real processes on one SQLite file: killed (SIGKILL) mid-way, restarted, and run
twice at once by mistake, it leaves every plan with exactly its visits: no duplicates, no gaps."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from dispatch.catalog import Role
from dispatch.recurrence import materialise_until, occurrences
from models.engine import make_engine, read_session, write_session
from models.plans import Plan
from models.requests import ServiceRequest
from server.migrate import upgrade
from server.steps.occurrences import segments_of
from tests import factories as f

SH = ZoneInfo("Asia/Shanghai")
RULES = ("FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,WE,FR", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "FREQ=WEEKLY;BYDAY=SA")
PLANS = 3000


def _clock(instance: Path, log: Path) -> subprocess.Popen:
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINLI_", "FLASK_"))}
    env.update({"LINLI_INSTANCE_PATH": str(instance), "LINLI_SECRET_KEY": "clock-test"})
    return subprocess.Popen([str(Path(sys.executable).parent / "linli"), "clock"], cwd=root, env=env,
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT)


def _count(engine) -> int:
    with read_session(engine) as s:
        return s.execute(select(func.count()).select_from(ServiceRequest)
                         .where(ServiceRequest.plan_id.is_not(None))).scalar_one()


def _wait(engine, until, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = _count(engine)
        if until(n):
            return n
        time.sleep(0.1)
    return _count(engine)


def test_killed_restarted_and_doubled_clocks_make_neither_duplicates_nor_gaps(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    engine = make_engine(f"sqlite:///{instance / 'linli.db'}")
    upgrade(engine)
    now = datetime.now(timezone.utc)
    # Visits at a time of day six hours off, so none of them passes while the test runs.
    at = (now + timedelta(hours=6)).astimezone(SH).replace(second=0, microsecond=0, tzinfo=None)
    with write_session(engine) as s:
        com = f.first_community(s)
        owner = f.user(s, Role.SENIOR)
        senior = f.senior(s, com, owner=owner)
        s.add_all([Plan(senior_id=senior.id, community_id=com.id, service_type="meal", rrule=RULES[i % len(RULES)],
                        start_local=(at - timedelta(days=30)).isoformat(timespec="minutes"), duration_minutes=60,
                        rule_from=now - timedelta(days=30), created_by=owner.id, created_at=now, updated_at=now)
                   for i in range(PLANS)])
        s.commit()
    log = tmp_path / "clock.log"
    first = _clock(instance, log)
    try:
        assert _wait(engine, lambda n: n > 0, 60) > 0, log.read_text()[-3000:]
        first.send_signal(signal.SIGKILL)  # mid-way, most likely: 2,000 plans a transaction
        first.wait(10)
        killed_at = _count(engine)
        again, twin = _clock(instance, log), _clock(instance, log)  # and a second one by mistake
        try:
            with read_session(engine) as s:
                plans = s.execute(select(Plan)).scalars().all()
            check = datetime.now(timezone.utc)
            expected = {(p.id, start) for p in plans
                        for start, _ in occurrences(segments_of(p), check, materialise_until(check, SH), SH)}
            got = _wait(engine, lambda n: n >= len(expected), 120)
            time.sleep(2)  # both clocks have had their say
        finally:
            for process in (again, twin):
                process.terminate()
                process.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    with read_session(engine) as s:
        rows = s.execute(select(ServiceRequest.plan_id, ServiceRequest.occurrence_start, ServiceRequest.scheduled_start)
                         .where(ServiceRequest.plan_id.is_not(None))).all()
    keys = [(pid, start) for pid, start, _ in rows]
    assert len(keys) == len(set(keys)) == got, "duplicates"
    assert set(keys) == expected, f"gaps or extras (killed at {killed_at} of {len(expected)})"
    assert min(start for _, _, start in rows) >= now
    engine.dispose()


def _unrelayed(engine, after: int) -> tuple[int, int]:
    """(events written after id `after`, how many of them are still unrelayed)."""
    from models.events import Event

    with read_session(engine) as s:
        rows = s.execute(select(Event.relayed_at).where(Event.id > after)).scalars().all()
    return len(rows), sum(at is None for at in rows)


def test_the_clock_leaves_its_events_to_the_web_processes_relays(tmp_path):
    """The clock writes a sweep's events and relays none of them (it is one process, the web tier as
    many as needed); a web process started later claims them from its first poll."""
    from models.events import Event
    from models.requests import Offer
    from models.seniors import Senior

    instance = tmp_path / "instance"
    instance.mkdir()
    engine = make_engine(f"sqlite:///{instance / 'linli.db'}")
    upgrade(engine)
    now = datetime.now(timezone.utc)
    with write_session(engine) as s:
        w = f.senior_and_provider(s, north_km=0.5)
        request = ServiceRequest(senior_id=w.senior_id, community_id=f.first_community(s).id, service_type="meal",
                                 status="offering", asap=True, scheduled_start=now - timedelta(minutes=2),
                                 scheduled_end=now + timedelta(minutes=58), duration_minutes=60, wave=1,
                                 first_offer_at=now - timedelta(minutes=2), priority=0,
                                 created_by=s.get(Senior, w.senior_id).user_id)
        s.add(request)
        s.flush()
        s.add(Offer(request_id=request.id, provider_id=w.provider_id, wave=1, status="offered", score=90.0,
                    distance_km=0.5, created_at=now - timedelta(minutes=2), expires_at=now - timedelta(seconds=30)))
        s.commit()
        request_id = request.id
        before = s.execute(select(func.coalesce(func.max(Event.id), 0))).scalar_one()
    log = tmp_path / "clock.log"
    clock = _clock(instance, log)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the first sweep runs 5 s after the clock starts
            with read_session(engine) as s:
                if s.get(ServiceRequest, request_id).status != "offering":
                    break
            time.sleep(0.2)
        with read_session(engine) as s:
            assert s.get(ServiceRequest, request_id).status == "escalated", log.read_text()[-3000:]
        time.sleep(1.5)  # a relay in the clock would have claimed them by now
        written, waiting = _unrelayed(engine, before)
        assert written >= 2 and waiting == written, (written, waiting)
        with f.LiveServer({"LINLI_INSTANCE_PATH": str(instance), "LINLI_SECRET_KEY": "clock-test"},
                          log=tmp_path / "serve.log"):
            deadline = time.monotonic() + 10
            while _unrelayed(engine, before)[1] and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _unrelayed(engine, before) == (written, 0)
    finally:
        clock.terminate()
        clock.wait(10)
