"""`linli`: a Flask CLI group over server:create_app."""
from __future__ import annotations

import os
from pathlib import Path

import click
from flask.cli import FlaskGroup, with_appcontext

from server import create_app  # the factory is itself lazy

# Imports are made inside the commands: `linli --help` (and the console script's start) should not
# pay for SQLAlchemy, the models, numpy and scipy, which took 5 s on a busy machine.


def _engine():
    from server.state import state

    return state().engine


def _fail(error) -> None:
    raise click.ClickException(f"{error.code}: {error.message}" + (f" {error.details}" if error.details else ""))


class LinliGroup(FlaskGroup):
    """Flask's CLI group, except that listing the commands (`--help`) does not build the app: the app
    adds no commands of its own, and building it imports everything and opens the database."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return sorted(click.Group.list_commands(self, ctx))


@click.group(cls=LinliGroup, create_app=lambda: create_app(), add_default_commands=True)
def main() -> None:
    """邻里 Linli — home-and-community care dispatch."""


@main.command("serve")
@click.option("--host", default=None, help="default LINLI_HOST or 127.0.0.1")
@click.option("--port", default=None, type=int, help="default LINLI_PORT or 5000")
@click.option("--no-scheduler", is_flag=True, help="leave jobs to a `linli clock` process")
def serve(host: str | None, port: int | None, no_scheduler: bool) -> None:
    """Serve HTTP + Socket.IO (migrating the database first)."""
    from server import serving
    from server.config import Settings
    from server.state import start, state

    if not serving.on_gevent():
        raise click.ClickException("`serve` runs on gevent: start it with the `linli` command, which patches "
                                   "the standard library first")

    # The options are settings: the app (and Socket.IO's default allowed origins) must see them too.
    overrides = {name: value for name, value in (("host", host), ("port", port)) if value is not None}
    app = create_app(Settings.from_env(**overrides))
    settings = state(app).settings
    with app.app_context():
        start(app, scheduler=not no_scheduler)
        # Flask's CLI marks the process so app.run() refuses to block; `serve` is meant to block.
        os.environ.pop("FLASK_RUN_FROM_CLI", None)
        click.echo(f"邻里 Linli: serving on http://{settings.host}:{settings.port}/ (gevent; Ctrl+C stops)")
        serving.serve(app, host=settings.host, port=settings.port)


@main.command("clock")
@with_appcontext
def clock() -> None:
    """Run the scheduler (exactly one per deployment)."""
    from server.jobs import run_clock
    from server.state import state

    # The clock decides, the web processes deliver: its relay never starts, and the events its jobs
    # write (a sweep's new offers, an SOS escalation) are claimed by theirs, at once after their next
    # commit and within their 0.5-s poll otherwise. The clock is one process however many web
    # processes there are; relaying them took a quarter of its CPU under load (docs/performance.md).
    state().relay.stop()
    run_clock(_engine())


@main.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Apply migrations; a new database gets Chenzhou's districts and communities."""
    from server.migrate import upgrade

    added = upgrade(_engine())
    click.echo(f"database is up to date ({added} reference communities added)")


@main.group("communities")
def communities_group() -> None:
    """Districts and communities."""


@communities_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def communities_import(file: Path) -> None:
    """Load communities from a CSV (name,district,kind,lat,lon) or GeoJSON file."""
    from models.engine import write_session
    from server.errors import AppError
    from server.services.communities import import_communities

    with write_session(_engine()) as session:
        try:
            added = import_communities(session=session, path=file)
        except AppError as error:
            _fail(error)
    click.echo(f"{added} communities added")


@main.command("seed-demo")
@click.option("--seniors", default=2000, show_default=True, type=click.IntRange(1, 200_000))
@click.option("--providers", default=300, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--seed", default=2018, show_default=True, type=int)
@click.option("--if-empty", is_flag=True, help="do nothing (and succeed) when the database has seniors")
@with_appcontext
def seed_demo(seniors: int, providers: int, seed: int, if_empty: bool) -> None:
    """Deterministic Chenzhou demo data (refuses a database that already has seniors)."""
    from models.engine import write_session
    from server.errors import AppError
    from server.migrate import upgrade
    from server.services.demo import DEMO_PASSWORD, seed_demo as seed_fn

    upgrade(_engine())
    with write_session(_engine()) as session:
        try:
            counts = seed_fn(session=session, seniors=seniors, providers=providers, seed=seed)
        except AppError as error:
            if if_empty and error.code == "not_empty":
                click.echo("demo data already present: nothing to do")
                return
            _fail(error)
    click.echo(f"seeded {counts}; demo password: {DEMO_PASSWORD} (see README: Demo logins)")


@main.command("create-user")
@click.option("--role", required=True)
@click.option("--phone", required=True)
@click.option("--password", required=True)
@click.option("--name", default=None)
@click.option("--community", "communities", multiple=True, type=int, help="community id (staff); repeatable")
@with_appcontext
def create_user(role: str, phone: str, password: str, name: str | None, communities: tuple[int, ...]) -> None:
    """Create an account of any role, staff included."""
    from pydantic import ValidationError

    from models.accounts import StaffCreate
    from models.engine import write_session
    from server.errors import AppError
    from server.services.accounts import create_user as create

    try:
        data = StaffCreate(role=role, phone=phone, password=password, name=name or phone,
                           community_ids=list(communities))
    except ValidationError as exc:
        raise click.BadParameter("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    from server.passwords import RULE, weakness

    if weakness(password, data.phone):
        raise click.BadParameter(f"weak_password: {RULE}", param_hint="--password")
    with write_session(_engine()) as session:
        try:
            user = create(session=session, data=data, actor=None)
        except AppError as error:
            _fail(error)
    click.echo(f"created {user.role} #{user.id} {user.phone}")


@main.command("vapid")
@with_appcontext
def vapid() -> None:
    """Print the Web Push public key (made and kept on first use)."""
    from server.state import state
    from server.vapid import load_or_create, public_key_b64

    click.echo(public_key_b64(load_or_create(state().settings.instance_path)))
