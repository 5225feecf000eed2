"""Provisioning: sites, devices, SIP accounts (secrets encrypted) and the decision log.

Revision ID: provisioning_0001
Revises: 0001
Created: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from phonewarden.store.columns import UTCDateTime

revision: str = "provisioning_0001"
down_revision: str | None = "0001"
branch_labels: tuple[str, ...] | None = ("provisioning",)
depends_on: str | None = None

# Frozen copies of the model types: a migration must keep meaning what it meant when written.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "prov_events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("time", UTCDateTime(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("mac", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", JSON_DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prov_events")),
    )
    with op.batch_alter_table("prov_events", schema=None) as batch_op:
        batch_op.create_index("ix_prov_events_mac", ["mac"], unique=False)
        batch_op.create_index("ix_prov_events_time", ["time"], unique=False)

    op.create_table(
        "prov_sites",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("networks", JSON_DOCUMENT, nullable=False),
        sa.Column("window_hours", sa.Float(), nullable=False),
        sa.Column("max_fetches", sa.Integer(), nullable=False),
        sa.Column("require_user_agent", sa.Boolean(), nullable=False),
        sa.Column("require_client_cert", sa.Boolean(), nullable=False),
        sa.Column("require_digest", sa.Boolean(), nullable=False),
        sa.Column("require_consent", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prov_sites")),
        sa.UniqueConstraint("name", name=op.f("uq_prov_sites_name")),
    )
    op.create_table(
        "prov_devices",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("mac", sa.String(length=12), nullable=False),
        sa.Column("vendor", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("site_id", BIG_ID, nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("window_from", UTCDateTime(), nullable=True),
        sa.Column("window_until", UTCDateTime(), nullable=True),
        sa.Column("fetches", sa.Integer(), nullable=False),
        sa.Column("wipe_pending", sa.Boolean(), nullable=False),
        sa.Column("config_version", sa.Integer(), nullable=False),
        sa.Column("approved_version", sa.Integer(), nullable=False),
        sa.Column("admin_password", sa.Text(), nullable=False),
        sa.Column("user_password", sa.Text(), nullable=False),
        sa.Column("digest_password", sa.Text(), nullable=False),
        sa.Column("lock_pin", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["prov_sites.id"], name=op.f("fk_prov_devices_site_id_prov_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prov_devices")),
        sa.UniqueConstraint("mac", name=op.f("uq_prov_devices_mac")),
    )
    with op.batch_alter_table("prov_devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_prov_devices_site_id"), ["site_id"], unique=False)

    op.create_table(
        "prov_accounts",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("device_id", BIG_ID, nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("password", sa.Text(), nullable=False),
        sa.Column("rotated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["prov_devices.id"],
            name=op.f("fk_prov_accounts_device_id_prov_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prov_accounts")),
        sa.UniqueConstraint("username", name=op.f("uq_prov_accounts_username")),
    )
    with op.batch_alter_table("prov_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_prov_accounts_device_id"), ["device_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("prov_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prov_accounts_device_id"))

    op.drop_table("prov_accounts")
    with op.batch_alter_table("prov_devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prov_devices_site_id"))

    op.drop_table("prov_devices")
    op.drop_table("prov_sites")
    with op.batch_alter_table("prov_events", schema=None) as batch_op:
        batch_op.drop_index("ix_prov_events_time")
        batch_op.drop_index("ix_prov_events_mac")

    op.drop_table("prov_events")
