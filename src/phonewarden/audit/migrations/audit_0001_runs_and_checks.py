"""Audit: runs and their check records.

Revision ID: audit_0001
Revises: 0001
Created: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from phonewarden.store.columns import UTCDateTime

revision: str = "audit_0001"
down_revision: str | None = "0001"
branch_labels: tuple[str, ...] | None = ("audit",)
depends_on: str | None = None

# Frozen copies of the model types: a migration must keep meaning what it meant when written.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "audit_runs",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("site", sa.String(length=255), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("targets", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("errors", JSON_DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_runs")),
    )
    op.create_table(
        "audit_checks",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("run_id", BIG_ID, nullable=False),
        sa.Column("time", UTCDateTime(), nullable=False),
        sa.Column("target", sa.String(length=1024), nullable=False),
        sa.Column("vendor", sa.String(length=32), nullable=True),
        sa.Column("model", sa.String(length=64), nullable=True),
        sa.Column("firmware", sa.String(length=64), nullable=True),
        sa.Column("check", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("remediation", sa.Text(), nullable=False),
        sa.Column("evidence", JSON_DOCUMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["audit_runs.id"], name=op.f("fk_audit_checks_run_id_audit_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checks")),
    )
    op.create_index("ix_audit_checks_run_id", "audit_checks", ["run_id"])
    op.create_index("ix_audit_checks_target", "audit_checks", ["target"])


def downgrade() -> None:
    op.drop_index("ix_audit_checks_target", table_name="audit_checks")
    op.drop_index("ix_audit_checks_run_id", table_name="audit_checks")
    op.drop_table("audit_checks")
    op.drop_table("audit_runs")
