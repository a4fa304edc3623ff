"""Sockets: a reconnect storm (Socket.IO connects with last_event_id, as phones reconnect after a
restart), the WebSocket close, descriptors a socket, and `linli --help`: today's server against
the one before issue 12 and the one before the connect's writes were coalesced (BASELINES, each
checked out of git into a temporary folder), in the same run.

Both are real `linli serve` processes on loopback with a fresh SQLite database each, the same
users, tokens and events. The storm's figure is the server's own CPU a connect (utime + stime of
the process over the storm, from /proc), so the clients' share of this machine's 2 cores does not
count; connects/s of CPU is its inverse. Rounds alternate baseline and today's server, and the
median is printed. Run: `python -m bench --only sockets [--quick]`.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# main before issue 12 (simple-websocket, the ORM sign-in read, a claim each replay), and main before
# a connect's packets were coalesced into two writes with one greenlet a socket (server/sockets/engine.py);
# other commits may be compared with LINLI_BENCH_BASELINE=<commit>[,<commit>...].
BASELINES = [c for c in os.environ.get("LINLI_BENCH_BASELINE", "3ff522e,9c4674a").split(",") if c]
GOAL_PER_S = 1000.0


@dataclass
class Plan:
    users: int = 400
    events_each: int = 3  # relayed events a user has; the storm replays all but the first
    rounds: int = 3  # per server, alternating
    threads: int = 4

    @classmethod
    def for_run(cls, quick: bool) -> Plan:
        return cls(users=150, rounds=1) if quick else cls()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _baseline_tree(folder: Path, commit: str) -> Path | None:
    """The commit's files in a folder of folder, or None when git cannot give them."""
    tree = folder / f"baseline-{commit}"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=False)
    if archive.returncode != 0:
        return None
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def _seed(db_url: str, plan: Plan) -> list[tuple[str, int]]:
    """Users with a sign-in each and relayed events, written on the tables (columns both schemas
    have); returns (token, the first event id) per user."""
    from sqlalchemy import insert, select

    from dispatch.catalog import Role
    from models.accounts import AuthToken, User
    from models.engine import make_engine, write_session
    from models.events import Event
    from models.types import utcnow
    from server import security

    engine = make_engine(db_url)
    now, out = utcnow(), []
    users, tokens, events = User.__table__, AuthToken.__table__, Event.__table__
    with write_session(engine) as session:
        for i in range(plan.users):
            user_id = session.execute(insert(users).values(
                phone=f"1990{i:07d}", name=f"bench-{i}", role=Role.PROVIDER, password_hash="x", locale="zh-CN",
                is_active=True, created_at=now).returning(users.c.id)).scalar_one()
            token = security.new_token()
            session.execute(insert(tokens).values(token_hash=security.token_digest(token), user_id=user_id,
                                                  created_at=now, expires_at=now + timedelta(days=1)))
            session.execute(insert(events), [
                {"type": "request_updated", "user_id": user_id, "community_id": None, "payload": {"n": n},
                 "created_at": now, "relayed_at": now} for n in range(plan.events_each)])
            first = session.execute(select(events.c.id).where(events.c.user_id == user_id)
                                    .order_by(events.c.id).limit(1)).scalar_one()
            out.append((token, first))
        session.commit()
    engine.dispose()
    return out


@contextmanager
def _server(tree: Path, folder: Path, name: str):
    """`linli serve` of tree (its own code on PYTHONPATH) on a fresh SQLite database in folder."""
    from tests.factories import LiveServer

    instance = folder / f"{name}-instance"
    instance.mkdir()
    env = {"LINLI_INSTANCE_PATH": str(instance), "LINLI_DATABASE_URL": f"sqlite:///{folder / name}.db",
           "LINLI_SECRET_KEY": "bench-secret", "PYTHONPATH": str(tree)}
    server = LiveServer(env, log=folder / f"{name}.log", start_timeout=60)
    server.start()
    try:
        server.db_url = env["LINLI_DATABASE_URL"]
        yield server
    finally:
        server.stop()


def _connect(server, token: str, last: int):
    """One Socket.IO connection over a bare WebSocket: signed in, replayed, ready."""
    import websocket

    ws = websocket.create_connection(server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket",
                                     origin=server.url, timeout=30)
    assert ws.recv().startswith("0{")
    ws.send("40" + json.dumps({"token": token, "last_event_id": last}))
    while not ws.recv().startswith('42["ready"'):
        pass
    return ws


def _storm(server, people: list[tuple[str, int]], threads: int) -> tuple[float, float, float]:
    """Everyone connects at once (threads clients), then disconnects one by one; returns (server CPU ms
    a connect, connects/s wall, server CPU ms a disconnect)."""
    sockets, lock, chunks = [], threading.Lock(), [people[i::threads] for i in range(threads)]

    def run(chunk):
        for token, first in chunk:
            ws = _connect(server, token, first)
            with lock:
                sockets.append(ws)

    cpu0, t0 = _cpu_seconds(server.process.pid), time.perf_counter()
    workers = [threading.Thread(target=run, args=(chunk,)) for chunk in chunks]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall, cpu = time.perf_counter() - t0, _cpu_seconds(server.process.pid) - cpu0
    cpu1 = _cpu_seconds(server.process.pid)
    for ws in sockets:
        ws.close()
    time.sleep(0.5)
    closing = _cpu_seconds(server.process.pid) - cpu1
    return cpu * 1000 / len(sockets), len(sockets) / wall, closing * 1000 / len(sockets)


def _close_seconds(server, token: str) -> float:
    """How long a Socket.IO client's clean disconnect takes (the median of 3)."""
    import socketio

    times = []
    for _ in range(3):
        sio = socketio.Client(reconnection=False)
        ready = threading.Event()
        sio.on("ready", lambda _payload, ready=ready: ready.set())
        sio.connect(server.url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
        ready.wait(10)
        t0 = time.perf_counter()
        sio.disconnect()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _descriptors_a_socket(server, people: list[tuple[str, int]]) -> float:
    def count() -> int:
        return len(os.listdir(f"/proc/{server.process.pid}/fd"))

    before = count()
    sockets = [_connect(server, token, first) for token, first in people[:50]]
    time.sleep(0.3)
    per = (count() - before) / len(sockets)
    for ws in sockets:
        ws.close()
    time.sleep(0.5)
    return per


def _help_seconds(tree: Path) -> float:
    """`linli --help`, the best of 3 (the console script of this venv, the tree's code)."""
    linli = Path(sys.executable).parent / "linli"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([str(linli), "--help"], capture_output=True, env=env, cwd=tree, check=True)
        best = min(best, time.perf_counter() - t0)
    return best


def run_sockets_bench(plan: Plan) -> dict:
    """Measure today's server and each baseline's; returns the figures."""
    with tempfile.TemporaryDirectory(prefix="linli-bench-sockets-") as tmp, ExitStack() as stack:
        folder = Path(tmp)
        trees = {"today": ROOT}
        for commit in BASELINES:
            tree = _baseline_tree(folder, commit)
            if tree is not None:
                trees[commit] = tree
        figures = {name: {"cpu_ms": [], "wall": [], "close_cpu_ms": []} for name in trees}
        servers = {name: stack.enter_context(_server(tree, folder, f"server-{name}")) for name, tree in trees.items()}
        people = {name: _seed(server.db_url, plan) for name, server in servers.items()}
        for _ in range(plan.rounds):
            for name, server in servers.items():
                cpu_ms, wall, close_cpu_ms = _storm(server, people[name], plan.threads)
                figures[name]["cpu_ms"].append(cpu_ms)
                figures[name]["wall"].append(wall)
                figures[name]["close_cpu_ms"].append(close_cpu_ms)
        for name, server in servers.items():
            figures[name]["close_s"] = _close_seconds(server, people[name][0][0])
            figures[name]["fds"] = _descriptors_a_socket(server, people[name])
        stack.close()  # the servers stop before `linli --help` is timed
        for name, tree in trees.items():
            figures[name]["help_s"] = _help_seconds(tree)
    return {"plan": plan, "figures": figures}


def _median(figures: dict | None, key: str) -> float:
    return statistics.median(figures[key]) if figures else float("nan")


def format_report(result: dict) -> str:
    plan, figures = result["plan"], result["figures"]
    today, bases = figures["today"], {name: f for name, f in figures.items() if name != "today"}
    cpu = _median(today, "cpu_ms")

    def rounds(f):
        return ", ".join(f"{x:.2f}" for x in f["cpu_ms"])

    def ratios() -> str:
        return ", ".join(f"{_median(f, 'cpu_ms') / cpu:.1f}x over {name}" for name, f in bases.items()) or "-"

    met = "met" if 1000 / cpu >= GOAL_PER_S else "NOT met"
    lines = [(f"sockets: a reconnect storm of {plan.users} Socket.IO connects with last_event_id "
              f"({plan.events_each - 1} events replayed each), {plan.threads} client threads, "
              f"{plan.rounds} alternating round(s); baselines = commits {', '.join(BASELINES)}")]
    if len(bases) < len(BASELINES):
        lines.append(f"  (missing baselines: git archive failed for {', '.join(set(BASELINES) - set(bases))})")
    every = figures.values()
    rows = [
        ("server CPU a connect (median; rounds)", [f"{_median(f, 'cpu_ms'):.2f} ms ({rounds(f)})" for f in every],
         ratios(), "-"),
        ("connects/s one process can take (1 / CPU)", [f"{1000 / _median(f, 'cpu_ms'):.0f} /s" for f in every],
         ratios(), f">= {GOAL_PER_S:.0f} /s {met}"),
        ("connects/s at the clients (wall, median)", [f"{_median(f, 'wall'):.0f} /s" for f in every], "-", "-"),
        (f"server CPU a disconnect, {plan.users} closing in turn (median)",
         [f"{_median(f, 'close_cpu_ms'):.2f} ms" for f in every], "-", "-"),
        ("clean WebSocket disconnect (median of 3)", [f"{f['close_s'] * 1000:.1f} ms" for f in every], "-",
         "no 3 s wait"),
        ("file descriptors a socket", [f"{f['fds']:.2f}" for f in every], "-", "1"),
        ("`linli --help` (best of 3)", [f"{f['help_s']:.2f} s" for f in every], "-", "well under 1 s"),
    ]
    lines.append("  | what | " + " | ".join(figures) + " | ratio | goal |")
    lines += ["  | " + " | ".join([what, *cells, ratio, goal]) + " |" for what, cells, ratio, goal in rows]
    return "\n".join(lines)


def section(quick: bool = False) -> str:
    """The sockets section of `python -m bench`."""
    return format_report(run_sockets_bench(Plan.for_run(quick)))


if __name__ == "__main__":
    print(section("--quick" in sys.argv))
