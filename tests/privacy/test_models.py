"""The privacy branch's migration builds exactly the models' schema, and goes down again, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from phonewarden.privacy import models
from phonewarden.store.migrate import current_revision, downgrade
from phonewarden.store.models import Base

PRIVACY_TABLES = {
    "privacy_devices",
    "privacy_runs",
    "privacy_destinations",
    "privacy_leaks",
    "privacy_verdicts",
}


def test_migration_matches_models_and_downgrades(privacy_engine: Engine) -> None:
    assert models.PrivacyRun.__tablename__ in Base.metadata.tables
    assert current_revision(privacy_engine) == "privacy_0001"
    assert set(inspect(privacy_engine).get_table_names()) >= PRIVACY_TABLES
    with privacy_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = [diff for diff in compare_metadata(context, Base.metadata) if "privacy_" in repr(diff)]
    assert diffs == []
    downgrade(privacy_engine, "0001")
    assert not PRIVACY_TABLES & set(inspect(privacy_engine).get_table_names())
