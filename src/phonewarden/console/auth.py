"""Who is asking, and may they: FastAPI dependencies for pages, forms and the API.

A browser carries the session cookie; scripts send `Authorization: Bearer pwt_...`. State-changing
requests from a browser must carry the session's CSRF token (form field `csrf` or header X-CSRF-Token);
bearer tokens are not sent by browsers on their own, so they need none.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from sqlalchemy import Engine

from phonewarden.console.accounts import Accounts
from phonewarden.console.audit_log import Actor
from phonewarden.console.policy import ConsolePolicy, Role
from phonewarden.console.sessions import Principal, SessionStore, TokenStore
from phonewarden.core.windows import LeakyBucket

SESSION_COOKIE = "pw_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class ConsoleContext:
    """The console's services, kept in `app.state.console`."""

    engine: Engine
    accounts: Accounts
    sessions: SessionStore
    tokens: TokenStore
    policy: ConsolePolicy
    login_limiter: LeakyBucket[str] = field(init=False)

    def __post_init__(self) -> None:
        self.login_limiter = LeakyBucket(
            self.policy.login_burst, self.policy.login_per_minute / 60, max_keys=10_000
        )

    def login_allowed(self, source: str) -> bool:
        """Per client address: refuse while the bucket is full, else count this attempt."""
        now = time.monotonic()
        if self.login_limiter.level(source, now) + 1 > self.policy.login_burst:
            return False
        self.login_limiter.add(source, now)
        return True


def context(request: Request) -> ConsoleContext:
    found = request.app.state.console
    assert isinstance(found, ConsoleContext)
    return found


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def actor_of(request: Request, principal: Principal | None) -> Actor:
    return Actor(principal.name if principal else "anonymous", client_address(request))


def now_utc() -> datetime:
    return datetime.now(UTC)


class NotLoggedIn(Exception):
    """Raised for pages: the app turns it into a redirect to /login."""


def find_principal(request: Request) -> Principal | None:
    ctx = context(request)
    bearer = request.headers.get("authorization", "")
    if bearer.lower().startswith("bearer "):
        return ctx.tokens.lookup(bearer[7:].strip(), now_utc())
    cookie = request.cookies.get(SESSION_COOKIE)
    return ctx.sessions.lookup(cookie, now_utc()) if cookie else None


async def check_csrf(request: Request, principal: Principal, *, form: bool = True) -> None:
    """Browser sessions changing state must echo the CSRF token (header, or form field when `form`)."""
    if request.method in SAFE_METHODS or principal.via != "session":
        return
    given = request.headers.get("x-csrf-token", "")
    if (
        not given
        and form
        and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        )
    ):
        given = str((await request.form()).get("csrf", ""))
    if not given or not hmac.compare_digest(given.encode(), principal.csrf_token.encode()):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")


async def authorise(request: Request, role: Role, *, page: bool = False, form: bool = True) -> Principal:
    """A fully logged-in principal with at least `role`; CSRF checked for changes; denials audited."""
    principal = find_principal(request)
    if principal is None or principal.stage != "full":
        if page:
            raise NotLoggedIn()
        raise HTTPException(401, "log in or send Authorization: Bearer <API token>")
    await check_csrf(request, principal, form=form)
    if not principal.role.allows(role):
        context(request).accounts.audit(
            actor_of(request, principal), "access", request.url.path, outcome="denied", method=request.method
        )
        raise HTTPException(403, f"this needs the {role.value} role; you are {principal.role.value}")
    return principal


def require(role: Role, *, page: bool = False) -> Any:
    async def dependency(request: Request) -> Principal:
        return await authorise(request, role, page=page)

    return Depends(dependency)


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "testclient"  # Starlette's TestClient


async def guard_api_access(request: Request) -> Principal | None:
    """For every guard API route and /metrics, before routing: reads need viewer, changes need operator.

    Until the first operator exists (setup mode) loopback clients may read, so a fresh `make run` and
    local scripts work; changes wait for an operator, who is then in the audit log. Anyone else is
    told to create the first admin. The principal is kept in `request.state.principal` for routes.
    """
    if context(request).accounts.count() == 0:
        if request.method in SAFE_METHODS and is_loopback(client_address(request)):
            request.state.principal = None
            return None
        raise HTTPException(503, "no operator exists yet: run `phonewarden admin create NAME` first")
    role = Role.VIEWER if request.method in SAFE_METHODS else Role.OPERATOR
    principal = await authorise(request, role, form=False)  # the API takes the CSRF token as a header only
    request.state.principal = principal
    return principal


def api_actor(request: Request) -> Actor:
    """Who calls an API route: the principal the api_auth middleware let in ("anonymous" if none)."""
    return actor_of(request, getattr(request.state, "principal", None))


def audit_api_call(request: Request, principal: Principal | None, status: int) -> None:
    """One audit entry per state-changing API call that passed auth: "api.<METHOD>" on the path."""
    if request.method in SAFE_METHODS:
        return
    outcome = "ok" if status < 400 else "denied" if status in (401, 403) else "failed"
    detail = {**getattr(request.state, "audit_detail", {}), "status": status}
    actor, action = actor_of(request, principal), f"api.{request.method}"
    context(request).accounts.audit(actor, action, request.url.path, outcome=outcome, **detail)


def note_for_audit(request: Request, **detail: Any) -> None:
    """Add details a path does not show (a ban's address from the body) to this call's audit entry."""
    if not hasattr(request.state, "audit_detail"):
        request.state.audit_detail = {}
    request.state.audit_detail.update(detail)


Viewer = Annotated[Principal, require(Role.VIEWER, page=True)]
Operator = Annotated[Principal, require(Role.OPERATOR, page=True)]
Admin = Annotated[Principal, require(Role.ADMIN, page=True)]
ApiViewer = Annotated[Principal, require(Role.VIEWER)]
ApiActor = Annotated[Actor, Depends(api_actor)]
