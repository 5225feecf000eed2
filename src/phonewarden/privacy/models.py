"""Stored privacy data: the device inventory the console and API manage, and analysis results per run.

A result row keeps the columns the console filters on (device, address, identifier, status, ...) and
the whole JSON record (`record`, exactly what `analyze --json` prints), so the API returns the same
records as the CLI and a later field needs no migration.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from phonewarden.store.columns import JSONDocument, UTCDateTime, utc_now
from phonewarden.store.models import Base, BigId

_RunRef = BigInteger().with_variant(Integer(), "sqlite")


class PrivacyDevice(Base):
    """One inventory entry: the same fields and validation as the JSON/TOML inventory."""

    __tablename__ = "privacy_devices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(64), default="")
    ips: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    # identifier kind (imei, imsi, mac, ...) -> canonical values, as checked by inventory.canonical()
    identifiers: Mapped[dict[str, list[str]]] = mapped_column(JSONDocument, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)


class PrivacyRun(Base):
    """One analysis: of a capture file, or a live snapshot."""

    __tablename__ = "privacy_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(1024))  # capture path or "live:<interface>"
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)  # event time of the last frame
    frames: Mapped[int] = mapped_column(BigInteger, default=0)
    policies: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)  # the `summary` record
    destinations: Mapped[list[PrivacyDestination]] = relationship(cascade="all, delete-orphan")
    leaks: Mapped[list[PrivacyLeak]] = relationship(cascade="all, delete-orphan")
    verdicts: Mapped[list[PrivacyVerdict]] = relationship(cascade="all, delete-orphan")


class PrivacyDestination(Base):
    __tablename__ = "privacy_destinations"
    __table_args__ = (Index("ix_privacy_destinations_run_device", "run_id", "device"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(_RunRef, ForeignKey("privacy_runs.id", ondelete="CASCADE"))
    device: Mapped[str] = mapped_column(String(255))
    address: Mapped[str] = mapped_column(String(64))
    port: Mapped[int] = mapped_column(Integer)
    transport: Mapped[str] = mapped_column(String(8))
    host: Mapped[str | None] = mapped_column(String(255))
    country: Mapped[str | None] = mapped_column(String(2))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    record: Mapped[dict[str, Any]] = mapped_column(JSONDocument)


class PrivacyLeak(Base):
    __tablename__ = "privacy_leaks"
    __table_args__ = (Index("ix_privacy_leaks_run_device", "run_id", "device"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(_RunRef, ForeignKey("privacy_runs.id", ondelete="CASCADE"))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    device: Mapped[str] = mapped_column(String(255))
    identifier: Mapped[str] = mapped_column(String(32))
    encoding: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[str] = mapped_column(String(8))  # high (tier 1) or low (tier 2)
    address: Mapped[str] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(2))
    evidence: Mapped[str] = mapped_column(Text)
    record: Mapped[dict[str, Any]] = mapped_column(JSONDocument)


class PrivacyVerdict(Base):
    __tablename__ = "privacy_verdicts"
    __table_args__ = (Index("ix_privacy_verdicts_run_device", "run_id", "device"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(_RunRef, ForeignKey("privacy_runs.id", ondelete="CASCADE"))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    device: Mapped[str] = mapped_column(String(255))
    policy: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))  # ok, violation, uncertain
    record: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
