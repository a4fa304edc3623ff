"""The import-linter contracts in pyproject.toml hold, and they do catch a violation."""
from __future__ import annotations

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


@pytest.fixture
def fake_tree(tmp_path):
    """The three root packages, empty, beside a copy of the real contracts."""
    for package in ("server", "models", "dispatch"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
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
])
def test_a_violation_is_caught(fake_tree, package, source, contract):
    if package == "models" and "server" in source:
        (fake_tree / "server" / "app.py").write_text("")
    (fake_tree / package / "bad.py").write_text(source)
    result = lint_imports(fake_tree, pythonpath=fake_tree)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"{contract} BROKEN" in output
