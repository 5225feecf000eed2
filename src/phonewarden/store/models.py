"""Foundation tables every guard uses: findings and ingest runs.

Guards add their own tables in `phonewarden/<guard>/models.py`, deriving from `Base`, with migrations
in their own branch (see `phonewarden.store.migrate`). `load_guard_models()` puts them in `Base.metadata`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Enum, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from phonewarden.store.columns import JSONDocument, UTCDateTime, utc_now

# Deterministic constraint names: Alembic batch mode on SQLite can only alter constraints it can name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL; SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Guard(StrEnum):
    SHIELD = "shield"
    FRAUD = "fraud"
    PRIVACY = "privacy"
    AUDIT = "audit"
    PROVISIONING = "provisioning"


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class IngestStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


def _string_enum(enum: type[StrEnum], name: str) -> Enum:
    # VARCHAR + CHECK instead of a native PostgreSQL ENUM: same schema on both backends, and the
    # stored text is the enum's value ("shield"), not its Python name.
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [member.value for member in members],
    )


class Finding(Base):
    """Something a guard concluded about a subject at an event time, with the evidence for it."""

    __tablename__ = "findings"
    __table_args__ = (
        Index("ix_findings_guard_time", "guard", "time"),
        Index("ix_findings_subject", "subject"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime)  # event time, not when it was stored
    guard: Mapped[Guard] = mapped_column(_string_enum(Guard, "guard"))
    kind: Mapped[str] = mapped_column(String(64))  # e.g. "scan", "toll_fraud", "identifier_leak"
    subject: Mapped[str] = mapped_column(String(255))  # an IP, an account, a device
    severity: Mapped[Severity] = mapped_column(_string_enum(Severity, "severity"))
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class IngestRun(Base):
    """One pass over an input (a file, an interface, a HEP listener) and what it yielded."""

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(1024))  # file path, "iface:eth0", "hep:0.0.0.0:9060"
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    records: Mapped[int] = mapped_column(BigInteger, default=0)
    # Counters of skipped or malformed input by reason, e.g. {"truncated_frame": 3}.
    anomalies: Mapped[dict[str, int]] = mapped_column(JSONDocument, default=dict)
    status: Mapped[IngestStatus] = mapped_column(
        _string_enum(IngestStatus, "ingest_status"), default=IngestStatus.RUNNING
    )


def load_guard_models() -> None:
    """Import the console's and every installed guard's models so their tables join `Base.metadata`."""
    from phonewarden.guards import GUARDS, import_guard_module

    for part in ("console", *GUARDS):
        import_guard_module(part, "models")
