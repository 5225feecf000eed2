"""Provisioning tables: sites with their gate rules, devices, SIP accounts (secrets encrypted) and the
decision log (every fetch allowed or denied, every inventory change, with its reason)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from phonewarden.store.columns import JSONDocument, UTCDateTime, utc_now
from phonewarden.store.models import Base, BigId

RefId = BigId


class ProvSite(Base):
    __tablename__ = "prov_sites"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    networks: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    window_hours: Mapped[float] = mapped_column(Float)
    max_fetches: Mapped[int] = mapped_column(Integer)
    require_user_agent: Mapped[bool] = mapped_column(Boolean)
    require_client_cert: Mapped[bool] = mapped_column(Boolean)
    require_digest: Mapped[bool] = mapped_column(Boolean)
    require_consent: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class ProvDevice(Base):
    __tablename__ = "prov_devices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    mac: Mapped[str] = mapped_column(String(12), unique=True)  # 12 lower-case hex digits
    vendor: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(64))
    site_id: Mapped[int] = mapped_column(RefId, ForeignKey("prov_sites.id"), index=True)
    owner: Mapped[str] = mapped_column(String(255), default="")
    state: Mapped[str] = mapped_column(String(16), default="active")  # active | retired
    window_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetches: Mapped[int] = mapped_column(Integer, default=0)
    # The next fetch gets a factory-reset / wipe config (after retire or reassign).
    wipe_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    # Consent: config_version grows with every change; approved_version is what the customer approved.
    config_version: Mapped[int] = mapped_column(Integer, default=1)
    approved_version: Mapped[int] = mapped_column(Integer, default=1)
    admin_password: Mapped[str] = mapped_column(Text)  # Fernet tokens, never plain text
    user_password: Mapped[str] = mapped_column(Text)
    digest_password: Mapped[str] = mapped_column(Text)
    lock_pin: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    accounts: Mapped[list[ProvAccount]] = relationship(
        back_populates="device", cascade="all, delete-orphan", order_by="ProvAccount.line"
    )
    site: Mapped[ProvSite] = relationship()


class ProvAccount(Base):
    __tablename__ = "prov_accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(
        RefId, ForeignKey("prov_devices.id", ondelete="CASCADE"), index=True
    )
    line: Mapped[int] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(255), default="")
    password: Mapped[str] = mapped_column(Text)  # Fernet token
    rotated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    device: Mapped[ProvDevice] = relationship(back_populates="accounts")


class ProvEvent(Base):
    """One decision or change: a fetch allowed/denied (with the gate's reason) or an inventory action."""

    __tablename__ = "prov_events"
    __table_args__ = (Index("ix_prov_events_time", "time"), Index("ix_prov_events_mac", "mac"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(32))  # fetch, deny, ban, add, retire, reassign, approve...
    mac: Mapped[str] = mapped_column(String(12), default="")
    source: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
