"""An operator with an API token, made as `phonewarden admin create` and /tokens would, for API tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from phonewarden.console.audit_log import Actor
from phonewarden.console.auth import ConsoleContext
from phonewarden.console.models import ConsoleAudit, ConsoleUser
from phonewarden.console.policy import Role
from phonewarden.store.engine import session_factory


def bearer(ctx: ConsoleContext, name: str, role: Role) -> dict[str, str]:
    """Create user `name` (enrolled) with `role` and return headers carrying an API token of that role."""
    ctx.accounts.create(name, role, Actor("test", "127.0.0.1"))
    with session_factory(ctx.engine).begin() as session:
        user = session.scalars(select(ConsoleUser).where(ConsoleUser.name == name)).one()
        user.must_enrol = False
        user_id = user.id
    return {"authorization": f"Bearer {ctx.tokens.create(user_id, f'{name}-script', role)}"}


def audit_rows(ctx: ConsoleContext, action_prefix: str = "api.") -> list[dict[str, Any]]:
    """The console audit log's entries whose action starts with `action_prefix`, oldest first."""
    with session_factory(ctx.engine)() as session:
        rows = session.scalars(
            select(ConsoleAudit)
            .where(ConsoleAudit.action.startswith(action_prefix))
            .order_by(ConsoleAudit.id)
        )
        return [
            {"actor": r.actor, "action": r.action, "target": r.target, "outcome": r.outcome,
             "source": r.source, "detail": r.detail}
            for r in rows
        ]  # fmt: skip
