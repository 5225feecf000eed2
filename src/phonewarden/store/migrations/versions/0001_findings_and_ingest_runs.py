"""Foundation tables: findings and ingest runs.

Revision ID: 0001
Revises:
Created: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from phonewarden.store.columns import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the model types: a migration must keep meaning what it meant when written.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
GUARDS = ("shield", "fraud", "privacy", "audit", "provisioning")
SEVERITIES = ("info", "low", "medium", "high", "critical")
INGEST_STATUSES = ("running", "completed", "failed")


def _one_of(column: str, values: tuple[str, ...], name: str) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=op.f(name))


def upgrade() -> None:
    op.create_table(
        "findings",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("time", UTCDateTime(), nullable=False),
        sa.Column("guard", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", JSON_DOCUMENT, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
        _one_of("guard", GUARDS, "ck_findings_guard"),
        _one_of("severity", SEVERITIES, "ck_findings_severity"),
    )
    op.create_index("ix_findings_guard_time", "findings", ["guard", "time"])
    op.create_index("ix_findings_subject", "findings", ["subject"])

    op.create_table(
        "ingest_runs",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("source", sa.String(length=1024), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("anomalies", JSON_DOCUMENT, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_runs")),
        _one_of("status", INGEST_STATUSES, "ck_ingest_runs_ingest_status"),
    )


def downgrade() -> None:
    op.drop_table("ingest_runs")
    op.drop_index("ix_findings_subject", table_name="findings")
    op.drop_index("ix_findings_guard_time", table_name="findings")
    op.drop_table("findings")
