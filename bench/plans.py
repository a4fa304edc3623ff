"""Recurring plans at scale, each figure beside a baseline measured in the same run:

- materialising 100k plans × 14 days on SQLite, beside APScheduler with one job per visit in its
  SQLAlchemyJobStore on the same database (timed on a slice of the plans and scaled up: say so);
- the sweeper's tick (and the plan clock's minute tick) with those visits in the table;
- batch assignment of 2,000 visits to 5,000 providers, ample and tight supply: the sparse matching
  beside the dense linear_sum_assignment optimum and greedy nearest-first.

Times are wall-clock; the process's CPU time is printed beside the main ones, since on a shared
machine the wall time of the same work varies several-fold with the load (the reference workload).
"""
from __future__ import annotations

import shutil
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import insert, text

from bench.synthetic import make_points, make_providers
from dispatch.assignment import Visit, Worker, assign_visits, cost_matrix, greedy_assignment, optimal_assignment
from dispatch.catalog import ServiceType
from dispatch.recurrence import materialise_until, occurrences

SH = ZoneInfo("Asia/Shanghai")
# The clock's own time, to the hour: the sweeper ticks read the real clock, so the visits must lie ahead of it.
NOW = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
# The reference mix: weekly, twice and three times a week, and every weekday (lunch); 20 times of
# day; start dates spread over the last 180 days.
RULES = (("FREQ=WEEKLY;BYDAY=TU", 0.30), ("FREQ=WEEKLY;BYDAY=MO,TH", 0.30), ("FREQ=WEEKLY;BYDAY=MO,WE,FR", 0.25),
         ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", 0.15))
TIMES = [f"{h:02d}:{m:02d}" for h in range(8, 18) for m in (0, 30)]


def _database(folder: Path):
    from models.engine import make_engine
    from server.migrate import upgrade

    engine = make_engine(f"sqlite:///{folder / 'plans.db'}")
    upgrade(engine)
    return engine


def _seed(engine, n_plans: int, n_seniors: int = 5000) -> None:
    """n_plans plans over n_seniors seniors, inserted on the tables (set-up, not timed)."""
    from models.accounts import User
    from models.engine import write_session
    from models.plans import Plan
    from models.seniors import Senior

    rng = np.random.default_rng(5)
    with write_session(engine) as s:
        cid = s.execute(text("SELECT id FROM community ORDER BY id LIMIT 1")).scalar_one()
        staff = User(phone="13100000000", name="bench", role="center_staff", password_hash="x")
        s.add(staff)
        s.flush()
        uid = staff.id
        points = make_points(n_seniors, 9)
        s.execute(insert(Senior.__table__), [dict(name=f"长者{i}", address="郴州", lat=lat, lon=lon, birth_year=1945,
                                                  community_id=cid, living_alone=False, emergency_contacts=[],
                                                  created_at=NOW, updated_at=NOW)
                                             for i, (lat, lon) in enumerate(points)])
        first = s.execute(text("SELECT min(id) FROM senior")).scalar_one()
        rules = rng.choice(len(RULES), size=n_plans, p=[w for _, w in RULES])
        times = rng.choice(len(TIMES), size=n_plans)
        ages = rng.integers(0, 180, size=n_plans)  # plans began on any of the last 180 days
        local_today = NOW.astimezone(SH).date()
        s.execute(insert(Plan.__table__), [dict(
            senior_id=first + i % n_seniors, community_id=cid, service_type=list(ServiceType)[i % 5].value,
            kind="service", status="active", rrule=RULES[rules[i]][0],
            start_local=f"{local_today - timedelta(days=int(ages[i]))}T{TIMES[times[i]]}",
            duration_minutes=60, rule_from=NOW - timedelta(days=int(ages[i]) + 1), earlier_rules=[], created_by=uid,
            created_at=NOW, updated_at=NOW) for i in range(n_plans)])
        s.commit()


def bench_materialise(n_plans: int, baseline_plans: int) -> dict:
    """Materialise from scratch, re-run (adds nothing), the next day (one new day); then the baseline."""
    from server.plan_jobs import run_materialise

    folder = Path(tempfile.mkdtemp(prefix="linli-bench-plans-"))
    try:
        engine = _database(folder)
        _seed(engine, n_plans)
        t0, c0 = time.perf_counter(), time.process_time()
        visits = run_materialise(engine, NOW)
        first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        again = run_materialise(engine, NOW + timedelta(minutes=10))
        rerun = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        next_day = run_materialise(engine, NOW + timedelta(days=1))
        daily, daily_cpu = time.perf_counter() - t0, time.process_time() - c0
        sweep = bench_sweep(engine, n_ticks=240)
        base = bench_apscheduler(engine, baseline_plans)
        engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"plans": n_plans, "visits": visits, "first_s": first, "first_cpu": first_cpu, "again": again,
            "rerun_s": rerun, "next_day": next_day, "daily_s": daily, "daily_cpu": daily_cpu, "baseline": base,
            "sweep": sweep}


def bench_apscheduler(engine, n_plans: int) -> dict:
    """One APScheduler job per visit in a SQLAlchemyJobStore on the same file, for the first n_plans plans."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from models.engine import read_session
    from models.plans import Plan
    from server.steps.occurrences import segments_of
    from sqlmodel import select

    with read_session(engine) as s:
        plans = s.exec(select(Plan).order_by(Plan.id).limit(n_plans)).all()
    scheduler = BackgroundScheduler(timezone="UTC", jobstores={"default": SQLAlchemyJobStore(engine=engine)})
    scheduler.start(paused=True)
    t0 = time.perf_counter()
    jobs = 0
    end = materialise_until(NOW, SH)
    for plan in plans:
        for start, _ in occurrences(segments_of(plan), NOW, end, SH):
            scheduler.add_job(print, "date", run_date=start + timedelta(days=365), args=[plan.id],
                              id=f"{plan.id}:{start.isoformat()}", replace_existing=True)  # never due while timed
            jobs += 1
    seconds = time.perf_counter() - t0
    scheduler.shutdown(wait=False)
    return {"plans": len(plans), "jobs": jobs, "s": seconds}


def bench_sweep(engine, n_ticks: int) -> dict:
    """Sweeper ticks with the plans' visits in the table: the visits inside the dispatch horizon are
    taken as assigned (steady state: the assignment job got there), so a tick does only its reads."""
    from server.jobs import run_sweep
    from server.plan_jobs import run_checkins, run_reminders
    from server.steps.directory import ProviderDirectory
    from models.engine import write_session

    with write_session(engine) as s:
        s.execute(text("UPDATE service_request SET status = 'assigned' WHERE scheduled_start < :h"),
                  {"h": (NOW + timedelta(hours=49)).replace(tzinfo=None)})
        s.commit()  # no ANALYZE: the app never runs it (with its statistics SQLite prefers the status index)
    directory = ProviderDirectory(engine)
    sweep, minute = [], []
    t0 = time.perf_counter()  # the first minute tick sends the coming hour's reminders: a catch-up, apart
    first = run_reminders(engine, NOW + timedelta(hours=1))
    catch_up = {"s": time.perf_counter() - t0, "reminders": first.get("reminders", 0)}
    for i in range(n_ticks):
        t0 = time.perf_counter()
        run_sweep(engine, directory)
        sweep.append(time.perf_counter() - t0)
        if i % 4:  # a minute tick every 4th sweep (the clock runs 12 sweeps a minute)
            continue
        t0 = time.perf_counter()
        run_reminders(engine, NOW + timedelta(hours=1))
        run_checkins(engine, NOW + timedelta(hours=1))
        minute.append(time.perf_counter() - t0)
    ms = lambda xs: {"p50": float(np.percentile(xs, 50) * 1000), "p99": float(np.percentile(xs, 99) * 1000)}  # noqa: E731
    return {"sweep": ms(sweep), "minute": ms(minute), "ticks": n_ticks, "minute_ticks": len(minute),
            "catch_up": catch_up}


def _assignment_case(n_visits: int, n_workers: int, tight: bool, seed: int = 11):
    rng = np.random.default_rng(seed)
    entries = make_providers(n_workers, seed)
    points = make_points(n_visits, seed + 1)
    start = datetime(2026, 3, 5, 2, 0, tzinfo=timezone.utc)  # 10:00 local: everyone at once, one visit each
    services = list(ServiceType)
    visits = [Visit(i, services[int(rng.integers(0, 5))] if tight else ServiceType.MEAL, lat, lon, start,
                    start + timedelta(hours=1)) for i, (lat, lon) in enumerate(points)]
    workers = [Worker(e.provider_id, frozenset([services[e.provider_id % 5]]) if tight else frozenset(services),
                      e.lat, e.lon, min(e.radius_km, 4.0) if tight else e.radius_km) for e in entries]
    return visits, workers


def bench_assignment(n_visits: int, n_workers: int, tight: bool) -> dict:
    visits, workers = _assignment_case(n_visits, n_workers, tight)
    runs, cpu = [], []
    for _ in range(5):
        t0, c0 = time.perf_counter(), time.process_time()
        mine = assign_visits(visits, workers, zone=SH)
        runs.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    t0 = time.perf_counter()
    cost = cost_matrix(visits, workers, zone=SH)
    t_cost = time.perf_counter() - t0
    t0 = time.perf_counter()
    best = optimal_assignment(visits, workers, zone=SH, cost=cost)
    t_lsa = time.perf_counter() - t0
    t0 = time.perf_counter()
    greedy = greedy_assignment(visits, workers, zone=SH, cost=cost)
    t_greedy = time.perf_counter() - t0
    row = lambda a, s: {"s": s, "placed": len(a.chosen), "km": a.total_km, "worst": a.worst_km}  # noqa: E731
    return {"tight": tight, "mine": row(mine, float(np.median(runs))), "mine_cpu": float(np.median(cpu)),
            "lsa": row(best, t_cost + t_lsa),
            "lsa_only_s": t_lsa, "greedy": row(greedy, t_greedy + t_cost)}


def section(quick: bool = False) -> str:
    """The plans section of `python -m bench`."""
    n_plans = 10_000 if quick else 100_000
    m = bench_materialise(n_plans, baseline_plans=200 if quick else 1_000)
    b = m["baseline"]
    per_job = b["s"] / max(b["jobs"], 1)
    scaled = per_job * m["visits"]
    lines = ["plans: recurring visits materialised as requests (SQLite, reference mix: weekly, twice, three times "
             "a week, weekdays; 20 times of day)",
             f"  materialise {m['plans']:,} plans × 14 days from scratch: {m['visits']:,} visits in "
             f"{m['first_s']:.2f} s, CPU {m['first_cpu']:.2f} s "
             f"({m['visits'] / m['first_s']:,.0f} visits/s)  goal ≤ 5 s {'✔' if m['first_s'] <= 5 else '✘'}",
             f"  re-run the same day: {m['again']} added in {m['rerun_s']:.2f} s; the next day: {m['next_day']:,} "
             f"added in {m['daily_s']:.2f} s, CPU {m['daily_cpu']:.2f} s",
             f"  baseline APScheduler, one job per visit in SQLAlchemyJobStore (same file): {b['jobs']:,} jobs of "
             f"{b['plans']:,} plans in {b['s']:.2f} s = {per_job * 1e3:.2f} ms a job; scaled to {m['visits']:,} "
             f"visits ≈ {scaled:,.0f} s (extrapolated from the slice)  ratio {scaled / m['first_s']:,.0f}×",
             f"  sweeper tick with {m['visits']:,} visits in the table ({m['sweep']['ticks']} ticks): p50 "
             f"{m['sweep']['sweep']['p50']:.1f} ms, p99 {m['sweep']['sweep']['p99']:.1f} ms  goal p99 ≤ 20 ms "
             f"{'✔' if m['sweep']['sweep']['p99'] <= 20 else '✘'}",
             f"  plan clock minute tick ({m['sweep']['minute_ticks']}; reminders, late care visits, check-in "
             f"deadlines): p50 "
             f"{m['sweep']['minute']['p50']:.1f} ms, p99 {m['sweep']['minute']['p99']:.1f} ms, after a first tick "
             f"that sent the coming hour's {m['sweep']['catch_up']['reminders']:,} reminders in "
             f"{m['sweep']['catch_up']['s']:.1f} s"]
    lines.append("batch assignment, 2,000 visits × 5,000 providers, all at 10:00 (one visit each); "
                 "s, placed, total km, worst-served km")
    for tight in (False, True):
        a = bench_assignment(2000, 5000, tight)
        mine, lsa, greedy = a["mine"], a["lsa"], a["greedy"]
        gap = (mine["km"] / lsa["km"] - 1) * 100 if lsa["km"] else 0.0
        lines.append(f"  {'tight' if tight else 'ample'} supply: sparse matching {mine['s'] * 1e3:.0f} ms "
                     f"(CPU {a['mine_cpu'] * 1e3:.0f} ms; medians of 5), "
                     f"{mine['placed']}, {mine['km']:,.0f} km, worst {mine['worst']:.2f} km (cost {gap:+.2f} % vs "
                     f"optimum; goal ≤ 100 ms {'✔' if mine['s'] <= 0.1 else '✘'}, ≤ 1 % {'✔' if gap <= 1 else '✘'})")
        lines.append(f"    optimum (dense cost matrix + linear_sum_assignment): {lsa['s'] * 1e3:,.0f} ms "
                     f"(the solve alone {a['lsa_only_s'] * 1e3:.0f} ms), {lsa['placed']}, {lsa['km']:,.0f} km, "
                     f"worst {lsa['worst']:.2f} km")
        lines.append(f"    greedy nearest-first: {greedy['placed']}, {greedy['km']:,.0f} km, "
                     f"worst {greedy['worst']:.2f} km"
                     f" ({(greedy['km'] / lsa['km'] - 1) * 100 if lsa['km'] else 0:+.1f} % travel)")
    return "\n".join(lines)


if __name__ == "__main__":
    print(section())
