"""Shield tables: bans (re-applied at start; kept after they end until their offences are forgotten) and
allow-listed networks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from phonewarden.store.columns import JSONDocument, UTCDateTime, utc_now
from phonewarden.store.models import Base, BigId


class ShieldBan(Base):
    """One ban: an address or an IPv6 /64, until when, why, and how often it offended.

    An ended ban stays until `forget_at` (its end + decay_s x offences), so a repeat offender is still
    escalated after a restart; `dry_run` marks a would-be ban, which no enforcer and no feed ever gets."""

    __tablename__ = "shield_bans"
    # The overview counts the enforced bans (running, not a dry run) from this index alone.
    __table_args__ = (Index("ix_shield_bans_expires_at_dry_run", "expires_at", "dry_run"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    address: Mapped[str] = mapped_column(String(64), unique=True)
    reasons: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    offences: Mapped[int] = mapped_column(Integer, default=1)
    banned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)  # newest first
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set by the sweep once the ban ended and was lifted everywhere; NULL while it runs (or awaits the sweep).
    forget_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class ShieldAllow(Base):
    """A network the operator allowed with `shield allow`: never banned, like settings' never_block."""

    __tablename__ = "shield_allow"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    network: Mapped[str] = mapped_column(String(64), unique=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
