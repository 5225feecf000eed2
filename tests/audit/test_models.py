"""The audit tables on both backends: migrated schema equals the models, rows round-trip, cascade works."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select

from phonewarden.audit.models import AuditCheck, AuditRun
from phonewarden.store.engine import session_factory
from phonewarden.store.migrate import downgrade, upgrade
from phonewarden.store.models import Base, load_guard_models


def test_migration_creates_exactly_the_model_schema(engine: Engine) -> None:
    upgrade(engine)
    assert {"audit_runs", "audit_checks"} <= set(inspect(engine).get_table_names())
    load_guard_models()
    with engine.connect() as connection:
        diffs = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
        )
    assert [d for d in diffs if "audit" in str(d)] == []
    downgrade(engine, "audit@base")
    assert not {"audit_runs", "audit_checks"} & set(inspect(engine).get_table_names())


def test_run_with_checks_round_trips_and_cascades(engine: Engine) -> None:
    upgrade(engine)
    when = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    with session_factory(engine)() as session, session.begin():
        run = AuditRun(kind="probe", site="hq", targets=1, failed=1, errors=["x: unreadable"])
        run.checks = [
            AuditCheck(
                time=when,
                target="198.51.100.10",
                vendor="yealink",
                model="T46S",
                firmware=None,
                check="web-ui-http",
                status="fail",
                severity="medium",
                detail="d",
                remediation="r",
                evidence={"cves": ["CVE-2018-16221"]},
            )
        ]
        session.add(run)
    with session_factory(engine)() as session:
        stored = session.scalars(select(AuditCheck)).one()
        assert (stored.time, stored.evidence, stored.run.errors) == (
            when,
            {"cves": ["CVE-2018-16221"]},
            ["x: unreadable"],
        )
        session.delete(stored.run)
        session.commit()
        assert session.scalar(select(func.count()).select_from(AuditCheck)) == 0
