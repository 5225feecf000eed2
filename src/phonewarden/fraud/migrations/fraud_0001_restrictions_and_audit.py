"""Fraud guard: restrictions and audit trail.

Revision ID: fraud_0001
Revises: 0001
Created: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from phonewarden.store.columns import UTCDateTime

revision: str = "fraud_0001"
down_revision: str | None = "0001"
branch_labels: tuple[str, ...] | None = ("fraud",)
depends_on: str | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "fraud_restrictions",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("account", sa.String(length=255), nullable=False),
        sa.Column("destination", sa.String(length=32), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("time", UTCDateTime(), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("lifted_at", UTCDateTime(), nullable=True),
        sa.Column("lifted_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fraud_restrictions")),
    )
    op.create_index("ix_fraud_restrictions_account", "fraud_restrictions", ["account"])
    op.create_table(
        "fraud_audit",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("time", UTCDateTime(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("account", sa.String(length=255), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fraud_audit")),
    )
    op.create_index("ix_fraud_audit_account", "fraud_audit", ["account"])


def downgrade() -> None:
    op.drop_index("ix_fraud_audit_account", table_name="fraud_audit")
    op.drop_table("fraud_audit")
    op.drop_index("ix_fraud_restrictions_account", table_name="fraud_restrictions")
    op.drop_table("fraud_restrictions")
