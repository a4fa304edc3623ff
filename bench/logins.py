"""Logins: other users' latency while clients flood POST /auth/login with unknown phones, on ONE
`linli serve` (gevent, SQLite), with password hashing inline on the event loop (the baseline,
`LINLI_PASSWORD_HASHING=inline`, as before the fix) beside hashing on gevent's threadpool (default).

A signed-in user calls GET /api/v1/me every 20 ms: alone, then beside 1 and 4 login flooders. Each
flooder is its own client address (127.0.0.2, .3, …: loopback answers to all of 127/8) and stays
under the per-address login limit (300 a minute: 4.5 logins a second at most), sending its next
login when the last is answered. An unknown phone costs a full Argon2id check (no enumeration by
timing), so every flooder login is one hash. Loopback only; timed with time.perf_counter.
"""
from __future__ import annotations

import http.client
import json
import math
import random
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GOAL_RATIO = 2.0  # other users' p95 beside 4 flooders, against alone: at most this
PROBE_GAP_S = 0.02
FLOOD_PER_S = 4.5  # per flooder: under 300 a minute per address
MODES = ("inline", "threadpool")


@dataclass
class Plan:
    seconds: float = 10.0  # each measurement, in total over its rounds
    rounds: int = 3  # alone, 1, 4, alone, 1, 4, …: the machine's drift falls on all alike
    flooders: tuple[int, ...] = (0, 1, 4)

    @classmethod
    def for_run(cls, quick: bool) -> "Plan":
        return cls(seconds=4.0, rounds=2) if quick else cls()


def seed(db_path: Path) -> str:
    """Migrate a fresh SQLite database with one signed-in senior; returns their bearer token."""
    from dispatch.catalog import Role
    from models.engine import make_engine, write_session
    from server.migrate import upgrade
    from tests import factories as f

    engine = make_engine(f"sqlite:///{db_path}")
    upgrade(engine)
    with write_session(engine) as session:
        token = f.token_of(f.bearer(session, f.user(session, Role.SENIOR)))
        session.commit()
    engine.dispose()
    return token


def _connection(port: int, source: str = "127.0.0.1") -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))


def _probe(port: int, token: str, stop: threading.Event, out: list[float], errors: Counter) -> None:
    """GET /me every PROBE_GAP_S on one kept-alive connection; out gets each latency in seconds."""
    conn = _connection(port)
    headers = {"Authorization": f"Bearer {token}"}
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            conn.request("GET", "/api/v1/me", headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                out.append(time.perf_counter() - t0)
            else:
                errors[response.status] += 1
        except (OSError, http.client.HTTPException):
            errors["error"] += 1
            conn.close()
            conn = _connection(port)
        stop.wait(max(0.0, PROBE_GAP_S - (time.perf_counter() - t0)))
    conn.close()


def _flood(port: int, source: str, stop: threading.Event, statuses: Counter, rng: random.Random) -> None:
    """Logins for unknown phones from source, at most FLOOD_PER_S a second."""
    conn = _connection(port, source)
    gap = 1.0 / FLOOD_PER_S
    while not stop.is_set():
        t0 = time.perf_counter()
        body = json.dumps({"phone": f"199{rng.randrange(10**8):08d}", "password": "not-the-password-1"})
        try:
            conn.request("POST", "/api/v1/auth/login", body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            statuses[response.status] += 1
        except (OSError, http.client.HTTPException):
            statuses["error"] += 1
            conn.close()
            conn = _connection(port, source)
        stop.wait(max(0.0, gap - (time.perf_counter() - t0)))
    conn.close()


def measure(port: int, token: str, flooders: int, seconds: float) -> dict:
    """GET /me latencies of one user beside `flooders` login flooders for `seconds`."""
    return _summary(flooders, seconds, [_slice(port, token, flooders, seconds, random.Random(flooders))])


def _slice(port: int, token: str, flooders: int, seconds: float, rng: random.Random
           ) -> tuple[list[float], Counter, Counter]:
    stop, probes, probe_errors, statuses = threading.Event(), [], Counter(), Counter()
    threads = [threading.Thread(target=_flood, args=(port, f"127.0.0.{k + 2}", stop, statuses,
                                                     random.Random(rng.random())), daemon=True)
               for k in range(flooders)]
    for t in threads:
        t.start()
    time.sleep(0.5 if flooders else 0.0)  # let the flood reach its pace
    prober = threading.Thread(target=_probe, args=(port, token, stop, probes, probe_errors), daemon=True)
    prober.start()
    time.sleep(seconds)
    stop.set()
    for t in [prober, *threads]:
        t.join(90)
    return probes, probe_errors, statuses


def _summary(flooders: int, seconds: float, slices: list[tuple[list[float], Counter, Counter]]) -> dict:
    """Pool the slices of one measurement."""
    probes, probe_errors, statuses = [], Counter(), Counter()
    for p, e, st in slices:
        probes += p
        probe_errors.update(e)
        statuses.update(st)
    a = np.asarray(probes) * 1000.0
    p50, p95 = (float(np.percentile(a, q)) for q in (50, 95)) if len(a) else (math.nan, math.nan)
    return {"flooders": flooders, "p50": p50, "p95": p95, "max": float(a.max()) if len(a) else math.nan,
            "probes": len(a), "probe_errors": dict(probe_errors), "logins": dict(statuses),
            "logins_per_s": sum(statuses.values()) / seconds}


def measure_interleaved(port: int, token: str, plan: Plan) -> list[dict]:
    """Each number of flooders in turn, plan.rounds times over, pooled per number of flooders."""
    rng = random.Random(7)
    slices: dict[int, list] = {n: [] for n in plan.flooders}
    for _ in range(plan.rounds):
        for n in plan.flooders:
            slices[n].append(_slice(port, token, n, plan.seconds / plan.rounds, random.Random(rng.random())))
    return [_summary(n, plan.seconds, slices[n]) for n in plan.flooders]


def run_logins_bench(plan: Plan) -> dict:
    """Seed once; per mode, serve and measure alone and beside each number of flooders."""
    from tests.factories import LiveServer

    results: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="linli-bench-logins-") as tmp:
        instance = Path(tmp) / "instance"
        instance.mkdir()
        token = seed(instance / "linli.db")
        for mode in MODES:
            server = LiveServer({"LINLI_INSTANCE_PATH": str(instance), "LINLI_PASSWORD_HASHING": mode},
                                log=Path(tmp) / f"serve-{mode}.log")
            try:
                server.start()
                results[mode] = measure_interleaved(server.port, token, plan)
            except Exception as exc:
                raise RuntimeError(f"logins bench failed: {exc}\n--- serve log ---\n{server.log_tail()}") from exc
            finally:
                server.stop()
    return {"plan": plan, "results": results}


def _logins(row: dict) -> str:
    if not row["flooders"]:
        return "—"
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(row["logins"].items(), key=str))
    return f"{row['logins_per_s']:.1f}/s ({counts})"


def format_report(r: dict) -> str:
    """The section's table: inline beside threadpool, per number of flooders."""
    plan, res = r["plan"], r["results"]
    alone = {mode: res[mode][0]["p95"] for mode in MODES}
    lines = [
        f"logins: one `linli serve` (gevent, SQLite); a signed-in user's GET /me every {PROBE_GAP_S * 1000:.0f} ms "
        f"for {plan.seconds:.0f} s (in {plan.rounds} rounds, interleaved), alone and beside N clients (own "
        f"addresses) each sending up to {FLOOD_PER_S}/s logins for unknown phones",
        "| flooders | inline hashing (baseline): /me p50 / p95 / max | threadpool: /me p50 / p95 / max "
        "| p95 inline ÷ threadpool | threadpool p95 ÷ alone | logins served (inline → threadpool) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for k, n in enumerate(plan.flooders):
        a, b = res["inline"][k], res["threadpool"][k]
        lines.append(f"| {n} | {a['p50']:.1f} / {a['p95']:.1f} / {a['max']:.0f} ms | {b['p50']:.1f} / {b['p95']:.1f} / "
                     f"{b['max']:.0f} ms | {a['p95'] / b['p95']:.1f}× | {b['p95'] / alone['threadpool']:.2f}× "
                     f"| {_logins(a)} → {_logins(b)} |")
    worst = max(row["p95"] for row in res["threadpool"]) / alone["threadpool"]
    verdict = "met" if worst <= GOAL_RATIO else "NOT met"
    errors = {mode: [row["probe_errors"] for row in res[mode] if row["probe_errors"]] for mode in MODES}
    lines.append(f"goal: other users' p95 under the login flood at most {GOAL_RATIO:.0f}× their p95 alone: "
                 f"{verdict} (worst {worst:.2f}×); /me errors: {errors}")
    return "\n".join(lines)


def section(quick: bool = False) -> str:
    """The logins section of `python -m bench`."""
    return format_report(run_logins_bench(Plan.for_run(quick)))


if __name__ == "__main__":
    print(section(quick=True))
