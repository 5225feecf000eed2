"""Shield: bans indexed by when they were imposed (the console lists them newest first, page by page),
and the index on their end extended by `dry_run`, so counting the enforced bans reads the index alone.

Revision ID: shield_0003
Revises: shield_0002
Created: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision: str = "shield_0003"
down_revision: str | None = "shield_0002"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_shield_bans_banned_at", "shield_bans", ["banned_at"])
    op.create_index("ix_shield_bans_expires_at_dry_run", "shield_bans", ["expires_at", "dry_run"])
    op.drop_index("ix_shield_bans_expires_at", table_name="shield_bans")


def downgrade() -> None:
    op.create_index("ix_shield_bans_expires_at", "shield_bans", ["expires_at"])
    op.drop_index("ix_shield_bans_expires_at_dry_run", table_name="shield_bans")
    op.drop_index("ix_shield_bans_banned_at", table_name="shield_bans")
