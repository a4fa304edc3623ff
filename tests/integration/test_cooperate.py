"""server/cooperate.py: work done away from the serving thread, on threads and on gevent."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from server.cooperate import in_background


def test_in_background_passes_the_result_or_none_on_plain_threads():
    got, done = [], threading.Event()

    def install(value):
        got.append((value, threading.current_thread() is threading.main_thread()))
        done.set()

    in_background(lambda: 42, install)
    assert done.wait(5) and got == [(42, False)]
    done.clear()
    in_background(lambda: 1 / 0, install)  # logged; install hears None
    assert done.wait(5) and got[-1] == (None, False)


PROBE = r"""
from gevent import monkey
monkey.patch_all()
import json, threading, time
import gevent
from gevent import monkey as m
from server.cooperate import in_background

loop_ident = m.get_original("threading", "get_ident")()
ticks, out = [], {}

def ticker():
    while "installed" not in out:
        ticks.append(1)
        gevent.sleep(0.002)

def build():
    out["build_thread"] = m.get_original("threading", "get_ident")()
    busy = time.perf_counter() + 0.2
    while time.perf_counter() < busy:  # 0.2 s of work holding the GIL now and then
        sum(range(1000))
    out["ticks_while_building"] = len(ticks)
    return "trees"

def install(value):
    out["installed"] = value
    out["install_thread"] = m.get_original("threading", "get_ident")()

t = gevent.spawn(ticker)
in_background(build, install)
t.join(10)
print(json.dumps({"installed": out["installed"], "ticks": out["ticks_while_building"],
                  "built_off_loop": out["build_thread"] != loop_ident,
                  "installed_on_loop": out["install_thread"] == loop_ident}))
"""


def test_in_background_on_gevent_builds_off_the_loop_and_installs_on_it():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["installed"] == "trees" and out["built_off_loop"] and out["installed_on_loop"]
    assert out["ticks"] > 5  # the event loop went on serving while the build ran (1 when it did not)
