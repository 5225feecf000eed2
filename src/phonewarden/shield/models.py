"""Shield tables: active bans (re-applied at start, removed when expired) and allow-listed networks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from phonewarden.store.columns import JSONDocument, UTCDateTime, utc_now
from phonewarden.store.models import Base, BigId


class ShieldBan(Base):
    """One active ban: an address or an IPv6 /64, until when, why, and how often it offended."""

    __tablename__ = "shield_bans"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    address: Mapped[str] = mapped_column(String(64), unique=True)
    reasons: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    offences: Mapped[int] = mapped_column(Integer, default=1)
    banned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ShieldAllow(Base):
    """A network the operator allowed with `shield allow`: never banned, like settings' never_block."""

    __tablename__ = "shield_allow"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    network: Mapped[str] = mapped_column(String(64), unique=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
