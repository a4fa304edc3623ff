"""Scale-out: bookings/s and web-process CPU per booking on SQLite (one process), on PostgreSQL +
Redis (one process) and on two `linli serve --no-scheduler` processes behind a round-robin client
with one `linli clock`; and the clock's sweep under that load (tick times, requests left stalled).

CPU is process time (utime + stime from /proc/<pid>/stat), read before and after each run: on a
shared 2-core machine wall-clock rates drift, CPU a booking much less. PostgreSQL's share is its
backends' CPU (found by the bench's application_name). PostgreSQL runs in a fresh schema of the
`test` database, dropped at the end; Redis uses a channel and key prefix of this run's own.
"""
from __future__ import annotations

import os
import re
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bench import booking

PG_URL = os.environ.get("LINLI_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("LINLI_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
TICKS = os.sysconf("SC_CLK_TCK")
# The bench ages offers older than this to expired, so the 90-s ASAP waves end during a short run
# and the sweep sees the load it would see 90 s after a burst (see sweep_load).
COMPRESSED_TTL_S = 5.0
GOAL_RATIO = 1.3
GOAL_WAIT_S = 10.0  # a wave's end to the next wave: at most two of an idle clock's 5-s sweep intervals


@dataclass
class Plan:
    booking: booking.Plan
    seconds: float = 10.0
    repeats: int = 3
    sweep_seconds: float = 30.0  # two processes booking flat out while the clock sweeps

    @classmethod
    def for_run(cls, quick: bool) -> "Plan":
        if quick:
            return cls(booking.Plan(bookings=0, polled_bookings=0), seconds=4.0, repeats=1, sweep_seconds=12.0)
        return cls(booking.Plan())


def cpu_s(pid: int) -> float:
    """utime + stime of pid so far, in seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Row:
    name: str
    runs: list[booking.Throughput] = field(default_factory=list)
    web_cpu_ms: list[float] = field(default_factory=list)  # per booking, each run
    pg_cpu_ms: list[float] = field(default_factory=list)
    pg_backends: list[int] = field(default_factory=list)  # backends opened during each run (pool churn)
    ref_ms: list[float] = field(default_factory=list)  # the machine's reference workload before each run

    @property
    def median(self) -> booking.Throughput:
        return sorted(self.runs, key=lambda t: t.per_s)[len(self.runs) // 2]

    def med(self, values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")


class PgBackends:
    """CPU of this bench's PostgreSQL backends (by application_name), summed over /proc."""

    def __init__(self, admin_engine, app_name: str):
        self.admin, self.app_name = admin_engine, app_name
        self.seen: dict[int, float] = {}

    def pids(self) -> list[int]:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            return [r[0] for r in conn.execute(text("select pid from pg_stat_activity where application_name = :a"),
                                               {"a": self.app_name})]

    def snapshot(self) -> dict[int, float]:
        return {pid: cpu_s(pid) for pid in self.pids()}


def _measure(row: Row, world: booking.World, pids: list[int], clients: int, seconds: float,
             backends: PgBackends | None) -> None:
    from bench.__main__ import reference_ms

    row.ref_ms.append(reference_ms())
    before = {pid: cpu_s(pid) for pid in pids}
    pg_before = backends.snapshot() if backends else {}
    stop, seen = threading.Event(), set()

    def watch():  # backends opened and closed during the run (pool churn) are counted here
        while backends and not stop.wait(0.5):
            seen.update(backends.pids())
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    t = booking.throughput(world, clients, seconds)
    stop.set()
    watcher.join()
    web = sum(cpu_s(pid) - before[pid] for pid in pids)
    row.runs.append(t)
    row.web_cpu_ms.append(web * 1000 / max(t.created, 1))
    if backends:
        after = backends.snapshot()
        pg = sum(after[pid] - pg_before.get(pid, 0.0) for pid in after)
        row.pg_cpu_ms.append(pg * 1000 / max(t.created, 1))
        row.pg_backends.append(len((seen | set(after)) - set(pg_before)))  # opened during the run


def _pg_schema(app_name: str):
    """A fresh schema in the test database: (admin engine, url for it, schema name)."""
    from sqlalchemy import text

    from models.engine import make_engine

    schema = f"linli_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    return admin, f"{PG_URL}{sep}options=-csearch_path%3D{schema}&application_name={app_name}", schema


def _drop_schema(admin, schema: str) -> None:
    from sqlalchemy import text

    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


class SweepWatch:
    """While two processes book: age offers past COMPRESSED_TTL_S to expired-by-now (as 90 s later), and
    count every 0.5 s the requests offering with no live offer (what the sweep has yet to advance)."""

    def __init__(self, url: str):
        from models.engine import make_engine

        self.engine = make_engine(url)
        self.stalled: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from sqlalchemy import exists, func, select, update

        from models.requests import Offer, ServiceRequest
        from models.types import utcnow

        live = exists().where(Offer.request_id == ServiceRequest.id, Offer.status == "offered")
        count = select(func.count()).select_from(ServiceRequest).where(ServiceRequest.status == "offering", ~live)
        last_age = 0.0
        while not self.stop.wait(0.5):
            with self.engine.begin() as conn:
                if time.monotonic() - last_age >= 1.0:
                    now = utcnow()
                    conn.execute(update(Offer).where(Offer.status == "offered",
                                                     Offer.created_at <= now - timedelta(seconds=COMPRESSED_TTL_S),
                                                     Offer.expires_at > now).values(expires_at=now))
                    last_age = time.monotonic()
                self.stalled.append(conn.execute(count).scalar_one())

    def close_backlog(self) -> int:
        """Cancel the requests the earlier rows left offering or pending, their offers withdrawn: their
        90-s offers would all age at once here and bury the phase's own load under thousands of
        advances it did not cause. Returns how many."""
        from sqlalchemy import update

        from models.requests import Offer, ServiceRequest

        with self.engine.begin() as conn:
            conn.execute(update(Offer).where(Offer.status == "offered").values(status="withdrawn"))
            return conn.execute(update(ServiceRequest).where(ServiceRequest.status.in_(("offering", "pending")))
                                .values(status="cancelled")).rowcount

    def waits(self) -> tuple[list[tuple[float, float]], int]:
        """For each wave of the phase's requests that has ended: (when it ended, seconds until the
        request's next wave opened or it was escalated, or so far), in order of ending; and how many
        ended waves are still waiting. What a senior's request lives through when the sweep lags."""
        from sqlalchemy import text

        with self.engine.begin() as conn:
            rows = conn.execute(text("""
                WITH w AS (SELECT request_id, wave, min(created_at) AS opened, max(expires_at) AS ended
                           FROM offer WHERE request_id > :first GROUP BY request_id, wave)
                SELECT extract(epoch FROM w.ended),
                       extract(epoch FROM coalesce(n.opened, CASE WHEN r.wave = w.wave THEN r.escalated_at END)
                                          - w.ended),
                       extract(epoch FROM now() - w.ended)
                FROM w JOIN service_request r ON r.id = w.request_id
                LEFT JOIN w n ON n.request_id = w.request_id AND n.wave = w.wave + 1
                WHERE w.ended <= now() ORDER BY 1"""), {"first": self.first}).all()
        # A wave still waiting counts with its wait so far.
        return [(float(e), float(d if d is not None else so_far)) for e, d, so_far in rows], \
            sum(d is None for _e, d, _so_far in rows)

    def __enter__(self):
        from sqlalchemy import func, select

        from models.requests import ServiceRequest

        self.closed = self.close_backlog()
        with self.engine.begin() as conn:
            self.first = conn.execute(select(func.coalesce(func.max(ServiceRequest.id), 0))).scalar_one()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.engine.dispose()


TICK = re.compile(r"sweep tick ([\d.]+) ms")
ADVANCED = re.compile(r"'advanced': (\d+)")
WAVES_AFTER_THE_FIRST = 3  # an unanswered booking asks the sweep for two more waves, then the escalation


def _clock(env: dict, log: Path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    full = {k: v for k, v in os.environ.items() if not k.startswith(("LINLI_", "FLASK_"))}
    full.update(env)
    out = open(log, "ab")
    return subprocess.Popen([str(Path(sys.executable).parent / "linli"), "clock"], cwd=root, env=full,
                            stdout=out, stderr=subprocess.STDOUT), out


def run_scaleout_bench(plan: Plan) -> dict:
    """SQLite one process and PostgreSQL + Redis one process, their runs alternated (the machine's
    speed drifts); then two PostgreSQL processes + clock, with the sweep watched."""
    from tests.factories import LiveServer

    result: dict = {"plan": plan}
    with tempfile.TemporaryDirectory(prefix="linli-scale-") as tmp:
        tmp = Path(tmp)
        (tmp / "sqlite").mkdir()
        (tmp / "pg1").mkdir()
        sq_ids, sq_headers, sq_tokens = booking.seed(tmp / "sqlite" / "linli.db", plan.booking)
        app_name = f"linli-bench-{uuid.uuid4().hex[:6]}"
        admin, url, schema = _pg_schema(app_name)
        tag = uuid.uuid4().hex[:8]
        env = {"LINLI_DATABASE_URL": url, "LINLI_REDIS_URL": REDIS_URL,
               "LINLI_SOCKETIO_CHANNEL": f"linli-bench-{tag}", "LINLI_SECRET_KEY": "bench-secret"}
        try:
            ids, headers, tokens = booking.seed_url(url, plan.booking)
            backends = PgBackends(admin, app_name)
            sqlite, one = Row("SQLite, 1 process"), Row("PostgreSQL + Redis, 1 process")
            # The embedded default (scheduler in process) on each database.
            with LiveServer({"LINLI_INSTANCE_PATH": str(tmp / "sqlite")}, log=tmp / "sqlite.log", start_timeout=120,
                            scheduler=True) as s1, \
                    LiveServer({**env, "LINLI_INSTANCE_PATH": str(tmp / "pg1")}, log=tmp / "pg1.log", start_timeout=120,
                               scheduler=True) as s2:
                w1 = booking.World(s1.url, sq_ids, sq_headers, sq_tokens)
                w2 = booking.World(s2.url, ids, headers, tokens)
                booking.throughput(w1, plan.booking.threads, 1.0)  # warm up
                booking.throughput(w2, plan.booking.threads, 1.0)
                for _ in range(plan.repeats):
                    _measure(sqlite, w1, [s1.process.pid], plan.booking.threads, plan.seconds, None)
                    _measure(one, w2, [s2.process.pid], plan.booking.threads, plan.seconds, backends)
            result["sqlite"], result["pg1"] = sqlite, one
            result.update(_two_processes(plan, env, tmp, ids, headers, tokens, backends, url))
        finally:
            _drop_schema(admin, schema)
    return result


def _two_processes(plan, env, tmp, ids, headers, tokens, backends, url) -> dict:
    from tests.factories import LiveServer

    two = Row("PostgreSQL + Redis, 2 processes + clock")
    servers = [LiveServer({**env, "LINLI_INSTANCE_PATH": str(tmp / f"pg2-{i}")}, log=tmp / f"pg2-{i}.log", start_timeout=120)
               for i in range(2)]
    for i, s in enumerate(servers):
        (tmp / f"pg2-{i}").mkdir()
    clock, clock_out = _clock({**env, "LINLI_INSTANCE_PATH": str(tmp / "pg2-0")}, tmp / "clock.log")
    try:
        for s in servers:
            s.start()
        world = booking.World(servers[0].url, ids, headers, tokens, urls=[s.url for s in servers])
        booking.throughput(world, plan.booking.threads, 1.0)
        pids = [s.process.pid for s in servers]
        for _ in range(plan.repeats):
            _measure(two, world, pids, plan.booking.threads, plan.seconds, backends)
        # The sweep under that load: waves end (aged by the watcher) while both processes book.
        log_mark = (tmp / "clock.log").stat().st_size
        clock_cpu = cpu_s(clock.pid)
        sweep = Row("two processes, sweep phase")
        with SweepWatch(url) as watch:
            t_phase = time.monotonic()
            _measure(sweep, world, pids, plan.booking.threads, plan.sweep_seconds, None)
            time.sleep(COMPRESSED_TTL_S + 6)  # the last waves end and are swept
            phase_s = time.monotonic() - t_phase
            waits, waiting = watch.waits()
        clock_cpu = cpu_s(clock.pid) - clock_cpu
        text = (tmp / "clock.log").read_text(errors="replace")[log_mark:]
    finally:
        for s in servers:
            s.stop()
        clock.terminate()
        clock.wait(10)
        clock_out.close()
    ticks = [float(m) for m in TICK.findall(text)]
    return {"pg2": two, "sweep_row": sweep, "ticks": ticks, "skipped": text.count("maximum number of running"),
            "stalled": watch.stalled, "waits": waits, "waiting": waiting, "clock_cpu_s": clock_cpu,
            "phase_s": phase_s, "backlog": watch.closed,
            "advanced": sum(int(n) for n in ADVANCED.findall(text)),
            "sweep_log": [line for line in text.splitlines() if "sweep" in line][-3:]}


def _pct(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q)) if values else float("nan")


def format_report(r: dict) -> str:
    p: Plan = r["plan"]
    sq: Row = r["sqlite"]
    base = sq.med(sq.web_cpu_ms)
    lines = [f"scale-out: {p.booking.threads} HTTP clients booking ASAP meals back to back, {p.seconds:g} s x "
             f"{p.repeats} runs per row (median); CPU is process time per booking created",
             f"{'':<44} {'per s':>7} {'web CPU ms':>10} {'x SQLite':>8} {'PG CPU ms':>9} {'PG opened':>9} {'ref ms':>6}  non-201"]
    for key in ("sqlite", "pg1", "pg2"):
        row: Row = r[key]
        web = row.med(row.web_cpu_ms)
        pg = f"{row.med(row.pg_cpu_ms):>9.1f}" if row.pg_cpu_ms else f"{'—':>9}"
        conns = f"{max(row.pg_backends):>9}" if row.pg_backends else f"{'—':>9}"
        others = booking._others(sum((t.others for t in row.runs), booking.Counter()))
        lines.append(f"  {row.name:<42} {row.median.per_s:>7.1f} {web:>10.1f} {web / base:>7.2f}x {pg} {conns} {row.med(row.ref_ms):>6.0f}  {others}")
        lines.append(f"    runs: {', '.join(f'{t.per_s:.1f}/s {c:.1f} ms' for t, c in zip(row.runs, row.web_cpu_ms))}")
    pairs = [b / a for a, b in zip(sq.web_cpu_ms, r["pg1"].web_cpu_ms)]
    lines.append(f"  PG / SQLite web CPU, run by run (alternated): {', '.join(f'{x:.2f}' for x in pairs)}")
    pg1 = r["pg1"].med(r["pg1"].web_cpu_ms)
    lines.append(f"  two processes / one: {r['pg2'].median.per_s / r['pg1'].median.per_s:.2f}x bookings/s; "
                 f"goal PG web CPU <= {GOAL_RATIO:g}x SQLite's: {pg1 / base:.2f}x "
                 f"{'met' if pg1 / base <= GOAL_RATIO else 'NOT met'}")
    ticks, sw = r["ticks"], r["sweep_row"]
    lines.append(f"sweep under two processes' load ({p.sweep_seconds:g} s, {sw.runs[0].per_s:.0f} bookings/s; "
                 f"offers aged to expire after {COMPRESSED_TTL_S:g} s instead of 90 s):")
    lines.append(f"  {len(ticks)} ticks: p50 {_pct(ticks, 50):.0f} ms, p95 {_pct(ticks, 95):.0f} ms, max "
                 f"{max(ticks, default=float('nan')):.0f} ms; skipped ticks {r['skipped']}; clock CPU "
                 f"{r['clock_cpu_s']:.1f} s")
    adv, booked = r["advanced"], sw.runs[0].created
    lines.append(f"  advanced {adv} requests in {r['phase_s']:.0f} s ({adv / r['phase_s']:.0f}/s; the phase's "
                 f"{booked} bookings ask for {WAVES_AFTER_THE_FIRST * booked}, "
                 f"{WAVES_AFTER_THE_FIRST * booked / r['phase_s']:.0f}/s); clock CPU "
                 f"{r['clock_cpu_s'] * 1000 / max(adv, 1):.1f} ms an advance")
    st = r["stalled"]
    quarters = ", ".join(str(st[min(len(st) - 1, len(st) * q // 4)]) for q in (1, 2, 3)) if st else "—"
    lines.append(f"  requests offering with no live offer (sampled every 0.5 s; the earlier rows' {r['backlog']} "
                 f"left open were cancelled first): max {max(st, default=0)}, "
                 f"median {statistics.median(st) if st else 0:.0f}, at 1/4, 1/2, 3/4 {quarters}, at the end "
                 f"{st[-1] if st else 0}")
    lines.append(_waits_line(r["waits"], r["waiting"]))
    lines.extend(f"  clock: {line.split(': ', 1)[-1]}" for line in r["sweep_log"])
    return "\n".join(lines)


def _waits_line(waits: list[tuple[float, float]], waiting: int) -> str:
    """The wait from a wave's end to the next wave (or the escalation), over the phase and by thirds of
    it (in order of ending): keeping up means it stays short from the first third to the last."""
    delays = [d for _e, d in waits]
    if not delays:
        return "  wave end to next wave: none measured"
    thirds = [delays[len(delays) * k // 3:len(delays) * (k + 1) // 3] for k in range(3)]
    worst = max(_pct(t, 95) for t in thirds if t)
    return (f"  a wave's end to the next wave or escalation ({len(delays)} waits; {waiting} still waiting at the end): "
            f"p50 {_pct(delays, 50):.1f} s, p95 {_pct(delays, 95):.1f} s, max {max(delays):.1f} s; p95 by thirds "
            f"of the phase {', '.join(f'{_pct(t, 95):.1f}' for t in thirds if t)} s; goal p95 <= "
            f"{GOAL_WAIT_S:g} s in every third (two idle sweep intervals): "
            f"{'keeps up' if worst <= GOAL_WAIT_S else 'falls behind'}")


def section(quick: bool = False) -> str:
    """The scale-out section of `python -m bench`."""
    return format_report(run_scaleout_bench(Plan.for_run(quick)))
