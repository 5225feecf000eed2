"""Shield findings from the store, for the attack chain: failed registrations or a new source on an
account raise the severity of that account's next fraud alerts (in event time)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from phonewarden.store.models import Finding, Guard

MAX_FINDINGS = 100_000


class ShieldFinding:
    __slots__ = ("reason", "subject", "time")

    def __init__(self, time: float, subject: str, reason: str) -> None:
        self.time, self.subject, self.reason = time, subject, reason


def shield_findings(db: Engine, since: datetime | None = None) -> Iterator[ShieldFinding]:
    """The shield's findings oldest first (subject: an address, user or account); none if not migrated."""
    query = select(Finding).where(Finding.guard == Guard.SHIELD).order_by(Finding.time).limit(MAX_FINDINGS)
    if since is not None:
        query = query.where(Finding.time >= since)
    try:
        with Session(db) as session:
            rows = list(session.scalars(query))
    except SQLAlchemyError:
        return
    for row in rows:
        yield ShieldFinding(row.time.timestamp(), row.subject, f"{row.kind}: {row.reason}")
