"""Console: emergency locations per subnet.

Revision ID: console_0002
Revises: console_0001
Created: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from phonewarden.store.columns import UTCDateTime

revision: str = "console_0002"
down_revision: str | None = "console_0001"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None

# Frozen copy of the model type: a migration must keep meaning what it meant when written.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "console_locations",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("subnet", sa.String(length=43), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("a1", sa.String(length=255), nullable=False),
        sa.Column("a3", sa.String(length=255), nullable=False),
        sa.Column("rd", sa.String(length=255), nullable=False),
        sa.Column("hno", sa.String(length=32), nullable=False),
        sa.Column("pc", sa.String(length=32), nullable=False),
        sa.Column("loc", sa.String(length=255), nullable=False),
        sa.Column("flr", sa.String(length=32), nullable=False),
        sa.Column("room", sa.String(length=64), nullable=False),
        sa.Column("nam", sa.String(length=255), nullable=False),
        sa.Column("elin", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_locations")),
        sa.UniqueConstraint("name", name=op.f("uq_console_locations_name")),
        sa.UniqueConstraint("subnet", name=op.f("uq_console_locations_subnet")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("console_locations")
