"""Tables of the fraud guard: restrictions (with who/why/until), the audit trail of every change, and
each account's calls and cost per clock hour (what the console charts against the learned baseline).

Alerts are not a table of their own: they are findings (guard fraud, kind = detector, subject = account)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from phonewarden.store.columns import UTCDateTime, utc_now
from phonewarden.store.models import Base, BigId


class FraudRestriction(Base):
    __tablename__ = "fraud_restrictions"
    __table_args__ = (Index("ix_fraud_restrictions_account", "account"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account: Mapped[str] = mapped_column(String(255))  # "*" for a destination block
    destination: Mapped[str] = mapped_column(String(32), default="")
    level: Mapped[int] = mapped_column(Integer)
    time: Mapped[datetime] = mapped_column(UTCDateTime)  # event time of the decision
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(255))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(255))


class FraudAudit(Base):
    __tablename__ = "fraud_audit"
    __table_args__ = (Index("ix_fraud_audit_account", "account"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(32))  # restrict | lift | expire | block-destination | ack
    account: Mapped[str] = mapped_column(String(255))
    level: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # restrict/block: when it runs out
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class FraudUsage(Base):
    """Calls, cost and minutes of one account in one clock hour (event time), summed by the service."""

    __tablename__ = "fraud_usage"
    __table_args__ = (
        UniqueConstraint("account", "hour", name="uq_fraud_usage_account_hour"),
        Index("ix_fraud_usage_hour", "hour"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account: Mapped[str] = mapped_column(String(255))
    hour: Mapped[datetime] = mapped_column(UTCDateTime)  # start of the clock hour
    calls: Mapped[int] = mapped_column(Integer)
    cost: Mapped[float] = mapped_column(Float)
    minutes: Mapped[float] = mapped_column(Float)
    last_call: Mapped[datetime] = mapped_column(UTCDateTime)  # end of the hour's latest call
