"""Alembic environment: migrates the connection that `phonewarden.store.migrate` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from phonewarden.store.models import Base, load_guard_models

load_guard_models()  # each guard's tables join Base.metadata, so autogenerate compares them too

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "run migrations through phonewarden.store.migrate (or `phonewarden db upgrade`), "
        "not the alembic command: it needs a connection from phonewarden's engine"
    )
if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported")
run_migrations(connection)
