"""Run the Alembic migrations shipped in this package; no alembic.ini is needed.

The foundation's history lives in `store/migrations/versions/`. Each guard keeps its own branch in
`phonewarden/<guard>/migrations/` (found at run time like its CLI and router), so adding a guard's
tables touches no other guard: its first revision has `down_revision = "0001"` and
`branch_labels = ("<guard>",)`; later ones follow its own previous revision. `upgrade` goes to all heads.

Adding a migration (one history per branch, the same for SQLite and PostgreSQL):

1. Change or add models deriving from `phonewarden.store.models.Base`, in `phonewarden/<guard>/models.py`
   (migrations/env.py imports every guard's models so autogenerate sees them).
2. Generate a draft (the draft database is migrated to all heads first)::

       python -m phonewarden.store.migrate revision shield_0001 "bans" sqlite:///tmp/d.db shield

   Review it: autogenerate misses renames and data moves. Use `op.batch_alter_table` for ALTERs so they
   also work on SQLite.
3. tests/store/test_migrate.py fails on two heads in one branch and on any difference between the models
   and the migrated schema, on both backends.
"""

from __future__ import annotations

import os
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

from phonewarden.guards import GUARDS, guard_package
from phonewarden.store.engine import make_engine, mask_url
from phonewarden.store.errors import StoreError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
HEADS = "heads"
# Parts that keep their own Alembic branch in phonewarden/<part>/migrations: the console and each guard.
BRANCHES = ("console", *GUARDS)

_AlembicCommand = Callable[[Config], None]


def version_locations() -> list[Path]:
    """The foundation's versions folder and each installed guard's migrations folder."""
    locations = [MIGRATIONS_DIR / "versions"]
    for guard in BRANCHES:
        package = guard_package(guard)
        if package is not None and package.__file__ is not None:
            folder = Path(package.__file__).parent / "migrations"
            if folder.is_dir():
                locations.append(folder)
    return locations


def alembic_config() -> Config:
    """An Alembic Config pointing at the migrations inside the installed package and its guards."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(str(p) for p in version_locations()))
    return config


def head_revision() -> str:
    """The newest revisions this phonewarden ships, one per branch, sorted and comma-joined."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if not heads:
        raise StoreError(f"no migrations found in {MIGRATIONS_DIR}")
    return ",".join(sorted(heads))


def current_revision(engine_or_url: Engine | str) -> str | None:
    """The revisions the database is at (sorted, comma-joined), or None for an empty database."""
    with _connected(engine_or_url) as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    return ",".join(sorted(heads)) if heads else None


def upgrade(engine_or_url: Engine | str, revision: str = HEADS) -> None:
    """Migrate up to `revision` (default: every branch's head); a database already there is left as it is."""
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


def _draft_revision(revision_id: str, message: str, url: str, guard: str | None) -> None:
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        if guard is None:
            command.revision(config, message=message, autogenerate=True, rev_id=revision_id)
        else:
            script = ScriptDirectory.from_config(config)
            labelled = [rev for rev in script.get_revisions("heads") if rev and guard in rev.branch_labels]
            package = guard_package(guard)
            assert package is not None and package.__file__ is not None, f"no guard {guard!r}"
            folder = Path(package.__file__).parent / "migrations"
            folder.mkdir(exist_ok=True)
            command.revision(
                config, message=message, autogenerate=True, rev_id=revision_id,
                head=labelled[0].revision if labelled else "0001", splice=not labelled,
                branch_label=None if labelled else guard, version_path=str(folder),
            )  # fmt: skip
    engine.dispose()


if __name__ == "__main__":  # developer tool only; operators use `phonewarden db upgrade`
    if len(sys.argv) not in (5, 6) or sys.argv[1] != "revision":
        sys.exit("usage: python -m phonewarden.store.migrate revision <id> <message> <draft-db-url> [guard]")
    _draft_revision(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] if len(sys.argv) == 6 else None)
