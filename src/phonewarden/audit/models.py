"""Stored audit results: one run (a config lint or a probe) and its check records, for the console."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from phonewarden.store.columns import JSONDocument, UTCDateTime, utc_now
from phonewarden.store.models import Base, BigId


class AuditRun(Base):
    __tablename__ = "audit_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "config" or "probe"
    site: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    targets: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    # Inputs that could not be read or probed, with the reason.
    errors: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    checks: Mapped[list[AuditCheck]] = relationship(back_populates="run", cascade="all, delete-orphan")


class AuditCheck(Base):
    __tablename__ = "audit_checks"
    __table_args__ = (
        Index("ix_audit_checks_run_id", "run_id"),
        # The fleet page counts failures per device's newest run from this index alone.
        Index("ix_audit_checks_target_run", "target", "run_id", "status", "severity"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), ForeignKey("audit_runs.id", ondelete="CASCADE")
    )
    time: Mapped[datetime] = mapped_column(UTCDateTime)  # event time of the observation
    target: Mapped[str] = mapped_column(String(1024))
    vendor: Mapped[str | None] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(64))
    firmware: Mapped[str | None] = mapped_column(String(64))
    check: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)
    remediation: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    run: Mapped[AuditRun] = relationship(back_populates="checks")
