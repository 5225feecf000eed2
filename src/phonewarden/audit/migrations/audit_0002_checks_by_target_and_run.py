"""Audit: one index on checks by target, run, status and severity (the fleet page counts from it alone).

It replaces the index on target, which is its first column.

Revision ID: audit_0002
Revises: audit_0001
Created: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision: str = "audit_0002"
down_revision: str | None = "audit_0001"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_audit_checks_target_run", "audit_checks", ["target", "run_id", "status", "severity"])
    op.drop_index("ix_audit_checks_target", table_name="audit_checks")


def downgrade() -> None:
    op.create_index("ix_audit_checks_target", "audit_checks", ["target"])
    op.drop_index("ix_audit_checks_target_run", table_name="audit_checks")
