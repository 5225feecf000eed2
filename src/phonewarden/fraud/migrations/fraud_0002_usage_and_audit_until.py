"""Fraud guard: calls and cost per account and hour; `until` in the audit trail.

Revision ID: fraud_0002
Revises: fraud_0001
Created: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from phonewarden.store.columns import UTCDateTime

revision: str = "fraud_0002"
down_revision: str | None = "fraud_0001"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Batch mode: SQLite cannot drop columns in place (downgrade), so both directions use it.
    with op.batch_alter_table("fraud_audit") as batch:
        batch.add_column(sa.Column("until", UTCDateTime(), nullable=True))
    op.create_table(
        "fraud_usage",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("account", sa.String(length=255), nullable=False),
        sa.Column("hour", UTCDateTime(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("minutes", sa.Float(), nullable=False),
        sa.Column("last_call", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fraud_usage")),
        sa.UniqueConstraint("account", "hour", name="uq_fraud_usage_account_hour"),
    )
    op.create_index("ix_fraud_usage_hour", "fraud_usage", ["hour"])


def downgrade() -> None:
    op.drop_index("ix_fraud_usage_hour", table_name="fraud_usage")
    op.drop_table("fraud_usage")
    with op.batch_alter_table("fraud_audit") as batch:
        batch.drop_column("until")
