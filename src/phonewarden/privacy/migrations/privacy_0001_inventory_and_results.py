"""Privacy: device inventory, analysis runs and their destinations, leaks and verdicts.

Revision ID: privacy_0001
Revises: 0001
Created: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from phonewarden.store.columns import UTCDateTime

revision: str = "privacy_0001"
down_revision: str | None = "0001"
branch_labels: tuple[str, ...] | None = ("privacy",)
depends_on: str | None = None

# Frozen copies of the model types: a migration must keep meaning what it meant when written.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
RESULT_TABLES = ("privacy_destinations", "privacy_leaks", "privacy_verdicts")


def _run_reference(table: str) -> list[sa.Column[int] | sa.Constraint]:
    return [
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("run_id", BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["privacy_runs.id"], name=op.f(f"fk_{table}_run_id_privacy_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "privacy_devices",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("ips", JSON_DOCUMENT, nullable=False),
        sa.Column("identifiers", JSON_DOCUMENT, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_devices")),
        sa.UniqueConstraint("name", name=op.f("uq_privacy_devices_name")),
    )
    op.create_table(
        "privacy_runs",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("source", sa.String(length=1024), nullable=False),
        sa.Column("stored_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=True),
        sa.Column("frames", sa.BigInteger(), nullable=False),
        sa.Column("policies", JSON_DOCUMENT, nullable=False),
        sa.Column("summary", JSON_DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_runs")),
    )
    op.create_table(
        "privacy_destinations",
        *_run_reference("privacy_destinations"),
        sa.Column("device", sa.String(length=255), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("transport", sa.String(length=8), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("record", JSON_DOCUMENT, nullable=False),
    )
    op.create_table(
        "privacy_leaks",
        *_run_reference("privacy_leaks"),
        sa.Column("time", UTCDateTime(), nullable=False),
        sa.Column("device", sa.String(length=255), nullable=False),
        sa.Column("identifier", sa.String(length=32), nullable=False),
        sa.Column("encoding", sa.String(length=32), nullable=False),
        sa.Column("confidence", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("record", JSON_DOCUMENT, nullable=False),
    )
    op.create_table(
        "privacy_verdicts",
        *_run_reference("privacy_verdicts"),
        sa.Column("time", UTCDateTime(), nullable=False),
        sa.Column("device", sa.String(length=255), nullable=False),
        sa.Column("policy", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("record", JSON_DOCUMENT, nullable=False),
    )
    for table in RESULT_TABLES:
        op.create_index(f"ix_{table}_run_device", table, ["run_id", "device"])


def downgrade() -> None:
    for table in RESULT_TABLES:
        op.drop_index(f"ix_{table}_run_device", table_name=table)
        op.drop_table(table)
    op.drop_table("privacy_runs")
    op.drop_table("privacy_devices")
