"""The console's audit log: every state-changing action, who did it, when and from where."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from phonewarden.console.models import ConsoleAudit


@dataclass(frozen=True)
class Actor:
    """Who acts and from where: an operator's name (or "cli", "anonymous") and the client address."""

    name: str
    source: str


def record(
    session: Session,
    actor: Actor,
    action: str,
    target: str = "",
    *,
    outcome: str = "ok",
    **detail: Any,
) -> None:
    """Add one audit entry to the caller's transaction."""
    session.add(
        ConsoleAudit(
            actor=actor.name[:64],
            action=action,
            target=target[:255],
            outcome=outcome,
            source=actor.source[:64],
            detail=detail,
        )
    )


def recent(session: Session, *, limit: int = 100, before_id: int | None = None) -> list[ConsoleAudit]:
    """Newest first; `before_id` pages backwards."""
    query = select(ConsoleAudit).order_by(ConsoleAudit.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(ConsoleAudit.id < before_id)
    return list(session.scalars(query))
