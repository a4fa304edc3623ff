"""What an app holds beside Flask's own: one typed record, and the start-up every server runs."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from server.config import Settings
    from server.relay import Relay
    from server.steps.directory import ProviderDirectory

KEY = "linli"


@dataclass
class AppState:
    """The settings, the engine, this process's provider directory, the outbox relay and the
    geocoder (built on first use)."""

    settings: Settings
    engine: Engine
    directory: ProviderDirectory
    relay: Relay | None = None
    geocoder: Any = None
    extras: dict = field(default_factory=dict)


def state(app: Flask | None = None) -> AppState:
    """The app's state (the current app's when none is given)."""
    return (app or current_app).extensions[KEY]


def start(app: Flask, *, scheduler: bool) -> None:
    """The start-up every server runs before it listens (`linli serve`, the WSGI module): migrate,
    load the geo index (a gevent process would stall on its first booking otherwise), start the
    in-process scheduler when asked, and start the relay so that events written by other
    processes (the clock) go out even while no request comes in; and the notifier (Web Push, SMS)."""
    from models.types import utcnow
    from server.migrate import upgrade

    held = state(app)
    upgrade(held.engine)
    held.directory.warm(utcnow())
    if scheduler:
        from server.jobs import start_background

        start_background(held.engine, held.directory)
    held.relay.start()
    from server.notify import start as start_notifier

    start_notifier(held)  # Web Push and SMS from the same outbox, in its own loop
