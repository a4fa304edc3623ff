"""The `linli` command starts quickly: listing its commands builds no app and imports no database
or numerical library (it took 5 s on a busy machine when it did)."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINLI = Path(sys.executable).parent / "linli"

PROBE = r"""
import json, sys
sys.argv = ["linli", "--help"]
from server.entry import main
try:
    main()
except SystemExit:
    pass
heavy = ["sqlalchemy", "sqlmodel", "numpy", "scipy", "models", "server.app", "flask_socketio", "gevent"]
print(json.dumps(sorted(name for name in heavy if name in sys.modules)), file=sys.stderr)
"""


def test_linli_help_imports_nothing_heavy():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, cwd=ROOT,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert "serve" in result.stdout and "seed-demo" in result.stdout
    assert json.loads(result.stderr.strip().splitlines()[-1]) == []


def test_linli_help_answers_in_well_under_two_seconds():
    """A coarse bound on the best of 3 runs: under 2 s, or, on a machine so loaded that importing
    Flask alone takes a second or more, within twice that import (0.3-0.45 s on a quiet minute; before,
    2.3-5.6 s, four to six times Flask's import). bench/sockets.py prints the figure."""
    def best(cmd) -> tuple[float, subprocess.CompletedProcess]:
        times, result = [], None
        for _ in range(3):
            t0 = time.perf_counter()
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
            times.append(time.perf_counter() - t0)
            assert result.returncode == 0, result.stderr
        return min(times), result

    elapsed, result = best([str(LINLI), "--help"])
    for command in ("serve", "clock", "db", "communities", "seed-demo", "create-user", "vapid"):
        assert command in result.stdout
    if elapsed >= 2.0:
        flask_import, _ = best([sys.executable, "-c", "import flask.cli"])
        assert elapsed < 2 * flask_import, f"linli --help took {elapsed:.2f} s; importing Flask {flask_import:.2f} s"
