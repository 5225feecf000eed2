"""Console tables: operators, their recovery codes, sessions, API tokens and the audit log.

Secrets are never stored as given: passwords as argon2id hashes, TOTP secrets encrypted (see secrets.py),
session ids, recovery codes and API tokens as SHA-256 digests (they are random and long, so a fast hash
suffices). The audit log keeps who, what, when and from where; nothing else about the person.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from phonewarden.store.columns import JSONDocument, UTCDateTime, utc_now
from phonewarden.store.models import Base, BigId

UserRef = BigInteger().with_variant(Integer(), "sqlite")


class ConsoleUser(Base):
    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | operator | viewer
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret: Mapped[str] = mapped_column(Text)  # encrypted
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)  # a TOTP code is accepted once
    # True until the first login replaced the one-time password and confirmed the TOTP enrolment.
    must_enrol: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConsoleRecoveryCode(Base):
    __tablename__ = "console_recovery_codes"
    __table_args__ = (Index("ix_console_recovery_codes_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(UserRef, ForeignKey("console_users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConsoleSession(Base):
    __tablename__ = "console_sessions"
    __table_args__ = (Index("ix_console_sessions_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(UserRef, ForeignKey("console_users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    # "password" after the first factor, "full" after TOTP (or enrolment); only "full" opens pages.
    stage: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class ConsoleApiToken(Base):
    __tablename__ = "console_api_tokens"
    __table_args__ = (Index("ix_console_api_tokens_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(UserRef, ForeignKey("console_users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # never above the owner's role
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists so a token can be recognised
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConsoleAudit(Base):
    """Every state-changing action: who, what, on what, when, from where, and whether it was allowed."""

    __tablename__ = "console_audit"
    __table_args__ = (Index("ix_console_audit_time", "time"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(16))  # ok | denied | failed
    source: Mapped[str] = mapped_column(String(64))  # client address
    detail: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)


class ConsoleLocation(Base):
    """A dispatchable emergency location: phones in `subnet` are at this civic address (RFC 5139 fields).

    Rows are only added and removed, never updated, and AUTOINCREMENT keeps SQLite from reusing ids,
    so (count, highest id) tells a cached lookup table whether anything changed (see locations.py).
    """

    __tablename__ = "console_locations"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    subnet: Mapped[str] = mapped_column(String(43), unique=True)  # normalised CIDR; IPv6 /128 is 43 chars
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166 alpha-2
    a1: Mapped[str] = mapped_column(String(255), default="")  # state, region
    a3: Mapped[str] = mapped_column(String(255), default="")  # city
    rd: Mapped[str] = mapped_column(String(255), default="")  # road
    hno: Mapped[str] = mapped_column(String(32), default="")  # house number
    pc: Mapped[str] = mapped_column(String(32), default="")  # postcode
    loc: Mapped[str] = mapped_column(String(255), default="")  # additional location information
    flr: Mapped[str] = mapped_column(String(32), default="")  # floor
    room: Mapped[str] = mapped_column(String(64), default="")
    nam: Mapped[str] = mapped_column(String(255), default="")  # name of the site or occupant
    elin: Mapped[str] = mapped_column(String(16), default="")  # callback number, E.164
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
