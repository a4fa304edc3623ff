"""PostgreSQL under gevent: psycopg waits on one libev watcher a round trip (models/engine.py), and
greenlets still take turns while one waits for the database."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    from gevent import monkey; monkey.patch_all()
    import sys
    import gevent
    from psycopg import waiting
    from sqlalchemy import text
    from models.engine import make_engine

    engine = make_engine(sys.argv[1])
    assert waiting.wait.__name__ == "wait_on_gevent_watcher", waiting.wait
    done = []

    def slow():
        with engine.connect() as conn:
            conn.execute(text("select pg_sleep(0.5)"))
        done.append("slow")

    def quick(i):
        with engine.connect() as conn:
            assert conn.execute(text("select :i"), {"i": i}).scalar() == i
        done.append(i)

    def big():  # results over many reads, and a parameter over many writes
        with engine.connect() as conn:
            rows = conn.execute(text("select g, repeat('x', 1000) from generate_series(1, 5000) g")).all()
            assert len(rows) == 5000 and rows[-1][0] == 5000
            assert conn.execute(text("select length(:s)"), {"s": "y" * 3_000_000}).scalar() == 3_000_000
        done.append("big")

    first = gevent.spawn(slow)
    gevent.sleep(0.05)  # the slow query is in flight: the others run meanwhile
    gevent.joinall([first, *[gevent.spawn(quick, i) for i in range(5)], gevent.spawn(big)], raise_error=True)
    print(done)
    assert done[-1] == "slow", done
    engine.dispose()
""")


@pytest.mark.postgres
def test_greenlets_run_while_one_waits_for_postgresql(pg_schema_url):
    out = subprocess.run([sys.executable, "-c", SCRIPT, pg_schema_url], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
