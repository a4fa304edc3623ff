"""The `linli` CLI through click's runner, on a fresh instance folder (SQLite there)."""
from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import func, select

from dispatch.catalog import Role
from models.accounts import StaffCommunity, User
from models.engine import make_engine, read_session
from models.places import Community
from models.seniors import Senior
from server.cli import main


@pytest.fixture
def instance(tmp_path, monkeypatch):
    path = tmp_path / "instance"
    monkeypatch.setenv("LINLI_INSTANCE_PATH", str(path))
    monkeypatch.delenv("LINLI_DATABASE_URL", raising=False)
    monkeypatch.setenv("LINLI_SECRET_KEY", "cli-test-secret")
    return path


@pytest.fixture
def linli(instance):
    runner = CliRunner()

    def run(*args: str, ok: bool = True):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return run


@pytest.fixture
def db(instance):
    """Open a session on the instance's database (after a command made it)."""
    engines = []

    def open_session():
        engines.append(make_engine(f"sqlite:///{instance / 'linli.db'}"))
        return read_session(engines[-1])

    yield open_session
    for engine in engines:
        engine.dispose()


def test_db_upgrade_loads_the_reference_communities_once(linli, db):
    first = linli("db", "upgrade")
    assert re.search(r"\((\d+) reference communities added\)", first.output).group(1) != "0"
    assert "(0 reference communities added)" in linli("db", "upgrade").output
    with db() as s:
        assert s.exec(select(func.count()).select_from(Community)).one() >= 100


def test_seed_demo_then_refuses_to_seed_again(linli, db):
    r = linli("seed-demo", "--seniors", "30", "--providers", "10")
    assert "seeded" in r.output and "linli2018" in r.output
    with db() as s:
        assert s.exec(select(func.count()).select_from(Senior)).one() == 30
    again = linli("seed-demo", "--seniors", "30", "--providers", "10", ok=False)
    assert again.exit_code == 1 and "not_empty" in again.output
    bad = linli("seed-demo", "--seniors", "0", ok=False)
    assert bad.exit_code == 2


def test_create_user_makes_staff_for_a_community(linli, db):
    linli("db", "upgrade")
    r = linli("create-user", "--role", "center_staff", "--phone", "13800001234", "--password", "secret-pass",
              "--name", "社区中心", "--community", "1")
    assert re.search(r"created center_staff #\d+ 13800001234", r.output)
    with db() as s:
        user = s.exec(select(User).where(User.phone == "13800001234")).one()
        assert (user.role, user.name) == (Role.CENTER_STAFF, "社区中心")
        assert s.exec(select(StaffCommunity.community_id).where(StaffCommunity.user_id == user.id)).all() == [1]
    duplicate = linli("create-user", "--role", "admin", "--phone", "13800001234", "--password", "secret-pass", ok=False)
    assert duplicate.exit_code == 1 and "phone_taken" in duplicate.output


@pytest.mark.parametrize("args", [["--role", "wizard"], ["--phone", "12345"], ["--password", "short"]])
def test_create_user_refuses_bad_options(linli, args):
    linli("db", "upgrade")
    base = {"--role": "admin", "--phone": "13800001235", "--password": "secret-pass"}
    base.update(dict(zip(args[::2], args[1::2])))
    r = linli("create-user", *[x for pair in base.items() for x in pair], ok=False)
    assert r.exit_code == 2


@pytest.mark.parametrize("password", ["12345678", "13800001237", "woaini1314"])
def test_create_user_refuses_a_weak_password_stating_the_rule(linli, password):
    linli("db", "upgrade")
    r = linli("create-user", "--role", "center_staff", "--phone", "13800001237", "--password", password, ok=False)
    assert r.exit_code == 2 and "weak_password" in r.output and "8" in r.output


def test_create_user_refuses_an_unknown_community(linli):
    linli("db", "upgrade")
    r = linli("create-user", "--role", "center_staff", "--phone", "13800001236", "--password", "secret-pass",
              "--community", "999999", ok=False)
    assert r.exit_code == 1 and "community" in r.output


def test_communities_import_adds_and_reports(linli, db, tmp_path):
    linli("db", "upgrade")
    good = tmp_path / "changsha.csv"
    good.write_text("name,district,kind,lat,lon\n东塘社区,雨花区,urban,28.174,113.003\n", encoding="utf-8")
    assert "1 communities added" in linli("communities", "import", str(good)).output
    bad = tmp_path / "bad.csv"
    bad.write_text("name,district,kind,lat,lon\n坏社区,雨花区,urban,north,113\n", encoding="utf-8")
    r = linli("communities", "import", str(bad), ok=False)
    assert r.exit_code == 1 and "row 1" in r.output
    with db() as s:
        assert s.exec(select(Community).where(Community.district == "雨花区")).all()[0].name == "东塘社区"
        assert len(s.exec(select(Community).where(Community.district == "雨花区")).all()) == 1
    assert linli("communities", "import", str(tmp_path / "missing.csv"), ok=False).exit_code == 2


def test_vapid_prints_the_same_public_key_every_time(linli, instance):
    first = linli("vapid").output.strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{87}", first)
    assert linli("vapid").output.strip() == first
    key_file = instance / "vapid_private.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_the_console_script_is_installed(instance, tmp_path):
    linli_bin = Path(sys.executable).parent / "linli"
    env = {"LINLI_INSTANCE_PATH": str(instance), "LINLI_SECRET_KEY": "x", "PATH": str(linli_bin.parent)}
    result = subprocess.run([str(linli_bin), "--help"], capture_output=True, text=True, env=env, timeout=60,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for command in ("serve", "clock", "db", "communities", "seed-demo", "create-user", "vapid"):
        assert command in result.stdout


@pytest.fixture
def serve(instance, monkeypatch):
    """Run `linli serve ARGS` in-process up to where it would block: the settings, a client, run()'s arguments."""
    from server import serving
    from server.relay import Relay

    for name in ("LINLI_HOST", "LINLI_PORT", "LINLI_REDIS_URL", "LINLI_SOCKETIO_CHANNEL"):
        monkeypatch.delenv(name, raising=False)
    served = {}
    monkeypatch.setattr(Relay, "start", lambda self: None)
    monkeypatch.setattr(serving, "on_gevent", lambda: True)  # this test process is not patched
    monkeypatch.setattr(serving, "serve", lambda app, **kwargs: served.update(
        settings=app.config["LINLI_SETTINGS"], client=app.test_client(), **kwargs))

    def run(*args: str):
        result = CliRunner().invoke(main, ["serve", "--no-scheduler", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return {**served, "output": result.output}

    return run


def test_serve_host_and_port_are_the_apps_settings(serve):
    served = serve("--host", "0.0.0.0", "--port", "5123")
    assert "serving on http://0.0.0.0:5123/" in served["output"]
    settings = served["settings"]
    assert (served["host"], served["port"]) == (settings.host, settings.port) == ("0.0.0.0", 5123)
    # Socket.IO's default allowed origins follow the port served on, even for a handshake via another Host.
    handshake = "/socket.io/?EIO=4&transport=polling"
    client = served["client"]
    assert client.get(handshake, headers={"Origin": "http://localhost:5123"}).status_code == 200
    assert client.get(handshake, headers={"Origin": "http://localhost:5000"}).status_code == 400
    assert client.get(handshake, headers={"Origin": "http://evil.example"}).status_code == 400


def test_the_socketio_channel_is_a_setting(serve, monkeypatch):
    from server.sockets import socketio

    monkeypatch.setenv("LINLI_REDIS_URL", "redis://127.0.0.1:1/3")  # never reached: nothing is emitted
    assert serve()["settings"].socketio_channel == "flask-socketio"
    assert socketio.server.manager.channel == "flask-socketio"
    monkeypatch.setenv("LINLI_SOCKETIO_CHANNEL", "linli-staging")
    assert serve()["settings"].socketio_channel == "linli-staging"
    assert socketio.server.manager.channel == "linli-staging"


def test_serve_refuses_a_process_gevent_did_not_patch(instance):
    # This test process is not patched: serving here would block on plain threads' locks.
    result = CliRunner().invoke(main, ["serve", "--no-scheduler"], catch_exceptions=False)
    assert result.exit_code == 1 and "start it with the `linli` command" in result.output


@pytest.mark.parametrize(("argv", "command"), [
    (["serve", "--port", "5001"], "serve"),
    (["--app", "serve", "db", "upgrade"], "db"),  # an option's value is not the command
    (["-e", ".env", "serve"], "serve"),
    (["--debug", "serve"], "serve"),
    (["--help"], None),
])
def test_the_console_script_finds_the_command(argv, command):
    from server.entry import command_of

    assert command_of(argv) == command


def test_the_console_script_patches_for_serve_only(tmp_path):
    """`linli serve` imports everything after gevent's patching; other commands stay on threads."""
    probe = ("import sys; import server.cli; "
             "from server.entry import main; "
             "from gevent import monkey; "
             "server.cli.main = lambda: print(monkey.is_module_patched('socket')); "
             "sys.argv = ['linli'] + sys.argv[1:]; main()")
    for args, patched in ((["serve"], "True"), (["db", "upgrade"], "False")):
        result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=60,
                                cwd=Path(__file__).resolve().parents[2])
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == patched, args
