"""The import-linter contracts in pyproject.toml hold, and they do catch a violation."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(cwd: Path, *args: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_layering_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_contracts_cover_what_design_md_asks():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = [c for c in contracts if c["type"] == "layers"]
    assert [c["layers"] for c in layers] == [["server", "models", "dispatch"]]
    forbidden = {tuple(c["source_modules"]): set(c["forbidden_modules"]) for c in contracts if c["type"] == "forbidden"}
    assert {"flask", "flask_socketio", "sqlmodel", "sqlalchemy", "apscheduler", "pywebpush"} <= forbidden[("dispatch",)]
    assert {"flask", "flask_socketio", "apscheduler", "pywebpush"} <= forbidden[("models",)]
    assert "server.services" in forbidden[("server.steps",)]


def _commit_calls(path: Path) -> list[str]:
    """Every call of something named `commit` in a module (session.commit(), conn.commit(), …)."""
    tree = ast.parse(path.read_text(), str(path))
    return [f"{path.name}:{node.lineno}" for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit"]


def test_shared_steps_never_commit():
    """A reader can tell from the path which functions commit: only use cases in server/services do."""
    steps = sorted((ROOT / "server" / "steps").glob("*.py"))
    assert len(steps) > 5
    assert [hit for path in steps for hit in _commit_calls(path)] == []


def test_the_commit_finder_finds_a_commit(tmp_path):
    (tmp_path / "bad.py").write_text("def f(session):\n    session.commit()\n")
    assert _commit_calls(tmp_path / "bad.py") == ["bad.py:2"]


@pytest.fixture
def fake_tree(tmp_path):
    """The three root packages, empty, beside a copy of the real contracts."""
    for package in ("server", "models", "dispatch", "server/steps", "server/services", "server/api",
                    "server/sockets"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    for module in ("jobs", "cli"):
        (tmp_path / "server" / f"{module}.py").write_text("")
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    return tmp_path


def test_a_clean_fake_tree_passes(fake_tree):
    (fake_tree / "server" / "ok.py").write_text("import models\nimport dispatch\nimport flask\n")
    (fake_tree / "models" / "ok.py").write_text("import dispatch\nimport sqlmodel\n")
    result = lint_imports(fake_tree, pythonpath=fake_tree)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("package, source, contract", [
    ("dispatch", "import server\n", "Layers: server above models above dispatch"),
    ("models", "from server import app\n", "Layers: server above models above dispatch"),
    ("dispatch", "import flask\n", "dispatch is framework-free"),
    ("dispatch", "from sqlalchemy import select\n", "dispatch is framework-free"),
    ("models", "import flask_socketio\n", "models never import the web or scheduler frameworks"),
    ("server/steps", "from server.services import requests\n", "Shared steps never import the use cases"),
])
def test_a_violation_is_caught(fake_tree, package, source, contract):
    if package == "models" and "server" in source:
        (fake_tree / "server" / "app.py").write_text("")
    if "services" in source:
        (fake_tree / "server" / "services" / "requests.py").write_text("")
    (fake_tree / package / "bad.py").write_text(source)
    result = lint_imports(fake_tree, pythonpath=fake_tree)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"{contract} BROKEN" in output
