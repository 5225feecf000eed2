"""Shield: would-be bans of a dry run, and ended bans kept for escalation.

Revision ID: shield_0002
Revises: shield_0001
Created: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from phonewarden.store.columns import UTCDateTime

revision: str = "shield_0002"
down_revision: str | None = "shield_0001"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Batch mode: SQLite cannot drop columns in place (downgrade), so both directions use it.
    with op.batch_alter_table("shield_bans") as batch:
        batch.add_column(sa.Column("dry_run", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("forget_at", UTCDateTime(), nullable=True))
        batch.create_index("ix_shield_bans_forget_at", ["forget_at"])


def downgrade() -> None:
    with op.batch_alter_table("shield_bans") as batch:
        batch.drop_index("ix_shield_bans_forget_at")
        batch.drop_column("forget_at")
        batch.drop_column("dry_run")
