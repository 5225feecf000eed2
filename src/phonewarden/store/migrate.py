"""Run the Alembic migrations shipped in this package; no alembic.ini is needed.

Adding a migration (one linear history for SQLite and PostgreSQL):

1. Change or add models deriving from `phonewarden.store.models.Base` (guards: import your models
   module in `migrations/env.py` so autogenerate sees it).
2. Generate a draft next to the others, with the next number as revision id::

       .venv/bin/python -m phonewarden.store.migrate revision 0002 "shield bans" sqlite:///tmp/draft.db

   The draft database is migrated to head first. Review the draft: autogenerate misses renames and
   data moves. Use `op.batch_alter_table` for ALTERs, so they also work on SQLite.
3. `down_revision` must be the previous head; tests/store/test_migrate.py fails on a second head and
   on any difference between the models and the migrated schema, on both backends.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from phonewarden.store.engine import make_engine, mask_url
from phonewarden.store.errors import StoreError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

_AlembicCommand = Callable[[Config], None]


def alembic_config() -> Config:
    """An Alembic Config pointing at the migrations inside the installed package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest revision this phonewarden ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise StoreError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(engine_or_url: Engine | str) -> str | None:
    """The revision the database is at, or None for an empty (never migrated) database."""
    with _connected(engine_or_url) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Migrate up to `revision`; a database already there is left as it is."""
    _run(engine_or_url, lambda config: command.upgrade(config, revision))


def downgrade(engine_or_url: Engine | str, revision: str) -> None:
    """Migrate down to `revision` ("base" drops every table the migrations created)."""
    _run(engine_or_url, lambda config: command.downgrade(config, revision))


def _run(engine_or_url: Engine | str, alembic_command: _AlembicCommand) -> None:
    with _connected(engine_or_url) as connection, _sqlite_foreign_keys_off(connection):
        config = alembic_config()
        config.attributes["connection"] = connection  # env.py migrates on this connection
        try:
            with connection.begin():
                alembic_command(config)
        except CommandError as exc:
            raise StoreError(f"migration failed: {exc}") from None


@contextmanager
def _connected(engine_or_url: Engine | str) -> Iterator[Connection]:
    engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    try:
        with engine.connect() as connection:
            yield connection
    except OperationalError as exc:
        raise StoreError(f"cannot use database {mask_url(engine.url)!r}: {exc.orig}") from None
    finally:
        if isinstance(engine_or_url, str):
            engine.dispose()


@contextmanager
def _sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    # Batch mode on SQLite rebuilds a table by copy-and-drop, which enforced foreign keys would
    # refuse or cascade. The pragma is ignored inside a transaction, so it is set before BEGIN.
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    connection.commit()
    try:
        yield
        violations = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        connection.commit()
        if violations:
            raise StoreError(f"migration left rows with broken foreign keys: {violations[:5]}")
    finally:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


def _draft_revision(revision_id: str, message: str, url: str) -> None:
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True, rev_id=revision_id)
    engine.dispose()


if __name__ == "__main__":  # developer tool only; operators use `phonewarden db upgrade`
    if len(sys.argv) != 5 or sys.argv[1] != "revision":
        sys.exit("usage: python -m phonewarden.store.migrate revision <id> <message> <draft-db-url>")
    _draft_revision(sys.argv[2], sys.argv[3], sys.argv[4])
