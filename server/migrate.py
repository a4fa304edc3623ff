"""Schema migrations (Alembic) and the reference data every new database gets."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from models.engine import write_session
from server.services.communities import ensure_reference_data

SCRIPTS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine, connection=None) -> Config:
    """An Alembic config pointed at our scripts and engine."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> int:
    """Apply every migration, then load the reference communities if none exist; returns rows added."""
    with engine.connect() as connection:
        command.upgrade(alembic_config(engine, connection), "heads")  # branches merge when they meet
        connection.commit()
    with write_session(engine) as session:
        return ensure_reference_data(session=session)


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a new migration from the models (for developers)."""
    with engine.connect() as connection:
        command.revision(alembic_config(engine, connection), message=message, autogenerate=True)
