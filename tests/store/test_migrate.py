from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, Integer, MetaData, Table, inspect

from phonewarden.store.errors import StoreError
from phonewarden.store.migrate import (
    BRANCHES,
    alembic_config,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from phonewarden.store.models import Base, load_guard_models

FOUNDATION_TABLES = {"findings", "ingest_runs"}


def all_model_tables() -> set[str]:
    """The foundation's tables and every installed guard's: what a full upgrade must create."""
    load_guard_models()
    return set(Base.metadata.tables)


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def _schema_diffs(engine: Engine, metadata: MetaData) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_upgrade_on_empty_database_then_again_is_a_no_op(engine: Engine) -> None:
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert _tables(engine) == all_model_tables() and _tables(engine) >= FOUNDATION_TABLES
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def test_downgrade_to_base_and_up_again(migrated_engine: Engine) -> None:
    downgrade(migrated_engine, "base")
    assert current_revision(migrated_engine) is None
    assert _tables(migrated_engine) == set()
    upgrade(migrated_engine)
    assert current_revision(migrated_engine) == head_revision()
    assert _tables(migrated_engine) == all_model_tables()


def test_migrated_schema_matches_the_models(migrated_engine: Engine) -> None:
    load_guard_models()
    assert _schema_diffs(migrated_engine, Base.metadata) == []


def test_schema_comparison_notices_a_model_without_migration(migrated_engine: Engine) -> None:
    # Guards the test above: the comparison must see a table the migrations never created.
    metadata = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    Table("bans", metadata, Column("id", Integer, primary_key=True))
    diffs = _schema_diffs(migrated_engine, metadata)
    assert [diff[0] for diff in diffs if isinstance(diff, tuple)] == ["add_table"]


def test_upgrade_accepts_a_url(db_url: str) -> None:
    upgrade(db_url)
    assert current_revision(db_url) == head_revision()


def test_history_is_one_line_per_branch() -> None:
    """The foundation is one line; each guard branches once from it, labelled with its name."""
    scripts = ScriptDirectory.from_config(alembic_config())
    assert ",".join(sorted(scripts.get_heads())) == head_revision()
    branch_of: dict[str, str] = {}
    for script in reversed(list(scripts.walk_revisions())):
        assert not isinstance(script.down_revision, tuple | list), f"{script.revision} is a merge"
        assert Path(script.path).name.startswith(f"{script.revision}_"), script.path
        parent = (
            branch_of.get(str(script.down_revision), "foundation") if script.down_revision else "foundation"
        )
        if script.module.branch_labels:  # declared in this file; Alembic spreads labels over the branch
            assert parent == "foundation", f"{script.revision} starts a branch off another guard"
            (label,) = script.module.branch_labels
            assert label in BRANCHES and Path(script.path).parent.parent.name == label, script.path
            parent = label
        branch_of[script.revision] = parent
    per_branch: dict[str, int] = {}
    for head in scripts.get_heads():
        per_branch[branch_of[head]] = per_branch.get(branch_of[head], 0) + 1
    assert all(count == 1 for count in per_branch.values()), per_branch


def test_migrations_ship_inside_the_package() -> None:
    location = Path(alembic_config().get_main_option("script_location") or "")
    assert (location / "env.py").is_file()
    assert location.parent == Path(__file__).parents[2] / "src" / "phonewarden" / "store"


def test_unreachable_postgresql_is_a_store_error_with_masked_url() -> None:
    url = "postgresql://pw:s3cr3t@127.0.0.1:1/phonewarden?connect_timeout=2"
    with pytest.raises(StoreError, match=r"cannot use database 'postgresql\+psycopg://pw:\*\*\*@") as caught:
        upgrade(url)
    assert "s3cr3t" not in str(caught.value)


def test_unknown_revision_is_a_store_error(engine: Engine) -> None:
    with pytest.raises(StoreError, match="migration failed"):
        upgrade(engine, "9999")


GUARD_MIGRATION = """
import sqlalchemy as sa
from alembic import op

revision = "labbranch_0001"
down_revision = "0001"
branch_labels = ("labbranch",)
depends_on = None


def upgrade() -> None:
    op.create_table("labbranch_bans", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("labbranch_bans")
"""


def test_a_guard_brings_its_own_migration_branch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: Engine
) -> None:
    import phonewarden
    import phonewarden.store.migrate as migrate

    package = tmp_path / "labbranch"
    (package / "migrations").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "migrations" / "labbranch_0001_bans.py").write_text(GUARD_MIGRATION)
    monkeypatch.setattr(phonewarden, "__path__", [*phonewarden.__path__, str(tmp_path)])
    monkeypatch.setattr(migrate, "BRANCHES", (*migrate.BRANCHES, "labbranch"))
    assert "labbranch_0001" in head_revision().split(",")
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert "labbranch_bans" in inspect(engine).get_table_names()
