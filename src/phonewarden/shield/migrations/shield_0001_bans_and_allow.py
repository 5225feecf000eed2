"""Shield: bans and allow-listed networks.

Revision ID: shield_0001
Revises: 0001
Created: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from phonewarden.store.columns import UTCDateTime

revision: str = "shield_0001"
down_revision: str | None = "0001"
branch_labels: tuple[str, ...] | None = ("shield",)
depends_on: str | None = None

# Frozen copies of the model types: a migration must keep meaning what it meant when written.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "shield_bans",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("reasons", JSON_DOCUMENT, nullable=False),
        sa.Column("offences", sa.Integer(), nullable=False),
        sa.Column("banned_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shield_bans")),
        sa.UniqueConstraint("address", name=op.f("uq_shield_bans_address")),
    )
    op.create_index("ix_shield_bans_expires_at", "shield_bans", ["expires_at"])
    op.create_table(
        "shield_allow",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("network", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shield_allow")),
        sa.UniqueConstraint("network", name=op.f("uq_shield_allow_network")),
    )


def downgrade() -> None:
    op.drop_table("shield_allow")
    op.drop_index("ix_shield_bans_expires_at", table_name="shield_bans")
    op.drop_table("shield_bans")
