"""Alembic environment: the SQLModel metadata, on the connection the caller hands in."""
from alembic import context
from sqlmodel import SQLModel

import models  # noqa: F401  (fills the metadata)

from models.types import EnumText

target_metadata = SQLModel.metadata


def render_item(type_, obj, autogen_context):
    """Enum columns are plain strings in the schema: render them so."""
    if type_ == "type" and isinstance(obj, EnumText):
        return "sa.String(length=24)"
    return False


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        from models.engine import make_engine

        connection = make_engine(context.config.get_main_option("sqlalchemy.url")).connect()
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
                      render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


run()
