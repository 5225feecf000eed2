from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from phonewarden.shield import models
from phonewarden.store.migrate import alembic_config, downgrade
from tests.store import conftest as store_fixtures

# The store's fixtures: every test here runs on SQLite and on PostgreSQL.
pg_url, db_url = store_fixtures.pg_url, store_fixtures.db_url
engine, migrated_engine = store_fixtures.engine, store_fixtures.migrated_engine


def test_the_shield_branch_starts_from_the_foundation() -> None:
    script = ScriptDirectory.from_config(alembic_config()).get_revision("shield_0001")
    assert script is not None and script.down_revision == "0001" and script.branch_labels == {"shield"}
    assert Path(script.path).name.startswith("shield_0001_")


def test_migration_creates_exactly_the_model_columns(migrated_engine: Engine) -> None:
    inspector = inspect(migrated_engine)
    for model in (models.ShieldBan, models.ShieldAllow):
        table = model.__table__
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        assert columns == {column.name for column in table.columns}, table.name


def test_the_shield_branch_downgrades_alone(migrated_engine: Engine) -> None:
    downgrade(migrated_engine, "shield@0001")
    tables = set(inspect(migrated_engine).get_table_names())
    assert "shield_bans" not in tables and "findings" in tables
