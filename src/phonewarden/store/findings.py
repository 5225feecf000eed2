"""Findings repository: write and read what the guards concluded.

Functions take the caller's session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from phonewarden.store.models import Finding, Guard, Severity

MAX_LIST_LIMIT = 10_000


def add_finding(
    session: Session,
    *,
    time: datetime,
    guard: Guard,
    kind: str,
    subject: str,
    severity: Severity,
    reason: str,
    evidence: Mapping[str, Any] | None = None,
) -> Finding:
    """Store one finding and return it with its id assigned."""
    finding = Finding(
        time=time,
        guard=Guard(guard),
        kind=kind,
        subject=subject,
        severity=Severity(severity),
        reason=reason,
        evidence=dict(evidence or {}),
    )
    session.add(finding)
    session.flush()  # assigns the id and surfaces constraint errors here, not at a later commit
    return finding


def list_findings(
    session: Session,
    *,
    guard: Guard | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[Finding]:
    """Findings newest first (by event time), optionally of one guard and at or after `since`."""
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIST_LIMIT}, got {limit}")
    query = select(Finding).order_by(Finding.time.desc(), Finding.id.desc()).limit(limit)
    if guard is not None:
        query = query.where(Finding.guard == Guard(guard))
    if since is not None:
        query = query.where(Finding.time >= since)
    return list(session.scalars(query))
