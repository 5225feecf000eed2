"""The logged-in pages: overview with chart, lists behind the tiles, findings, audit log, API tokens."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from phonewarden.console import audit_log
from phonewarden.console.auth import Admin, Operator, Viewer, actor_of, context, now_utc
from phonewarden.console.overview import TILES, TILES_BY_KEY, hourly_series, tile_count, tile_rows
from phonewarden.console.policy import Role
from phonewarden.console.shell import render
from phonewarden.store.engine import session_factory
from phonewarden.store.models import Finding, Guard

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100


@router.get("/overview", response_class=HTMLResponse)
def overview(request: Request, principal: Viewer) -> HTMLResponse:
    engine, now = context(request).engine, now_utc()
    tiles = [(tile, tile_count(tile, engine, now)) for tile in TILES]
    chart = json.dumps(hourly_series(engine, now))
    return render(request, "overview.html", {"tiles": tiles, "chart": chart}, principal=principal)


@router.get("/lists/{key}", response_class=HTMLResponse)
def tile_list(request: Request, key: str, principal: Viewer) -> HTMLResponse:
    tile = TILES_BY_KEY.get(key)
    if tile is None:
        raise HTTPException(404, f"no list {key!r}; known: {', '.join(TILES_BY_KEY)}")
    rows = tile_rows(tile, context(request).engine, now_utc())
    context_ = {
        "tile": tile,
        "table": rows,
        "can_unban": key == "bans" and principal.role.allows(Role.OPERATOR),
    }
    return render(request, "list.html", context_, principal=principal)


@router.post("/lists/bans/{address:path}/unban")  # :path: an IPv6 ban is a /64 with a slash
def unban(request: Request, address: str, principal: Operator) -> Response:
    from phonewarden.shield.bans import BanStore
    from phonewarden.shield.live import lift

    engine = context(request).engine
    removed = BanStore(engine).remove_ban(address)
    if removed:
        lift(engine, address)  # also end it in the running shield's firewall, not only in the store
    outcome = "ok" if removed else "failed"
    context(request).accounts.audit(actor_of(request, principal), "shield.unban", address, outcome=outcome)
    return RedirectResponse("/lists/bans", status_code=303)


@router.get("/findings", response_class=HTMLResponse)
def findings(
    request: Request,
    principal: Viewer,
    guard: Annotated[Guard | None, Query()] = None,
    before: Annotated[
        int | None, Query(ge=1, description="show findings with a smaller id (next page)")
    ] = None,
) -> HTMLResponse:
    # Keyset pagination on the primary key: the same cost on page 1 and page 10,000.
    query = select(Finding).order_by(Finding.id.desc()).limit(PAGE_SIZE)
    if guard is not None:
        query = query.where(Finding.guard == guard)
    if before is not None:
        query = query.where(Finding.id < before)
    with session_factory(context(request).engine)() as session:
        rows = list(session.scalars(query))
    following = rows[-1].id if len(rows) == PAGE_SIZE else None
    page = {"rows": rows, "guard": guard.value if guard else "", "next": following, "guards": list(Guard)}
    return render(request, "findings.html", page, principal=principal)


@router.get("/audit-log", response_class=HTMLResponse)
def audit_page(
    request: Request, principal: Admin, before: Annotated[int | None, Query(ge=1)] = None
) -> HTMLResponse:
    with session_factory(context(request).engine)() as session:
        rows = audit_log.recent(session, limit=PAGE_SIZE, before_id=before)
    following = rows[-1].id if len(rows) == PAGE_SIZE else None
    return render(request, "audit_log.html", {"rows": rows, "next": following}, principal=principal)


@router.get("/tokens", response_class=HTMLResponse)
def tokens_page(request: Request, principal: Viewer) -> HTMLResponse:
    rows = context(request).tokens.of_user(principal.user_id)
    roles = [role for role in Role if principal.role.allows(role)]
    return render(request, "tokens.html", {"rows": rows, "roles": roles}, principal=principal)


@router.post("/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    principal: Viewer,
    name: Annotated[str, Form(min_length=1, max_length=64)],
    role: Annotated[Role, Form()],
) -> HTMLResponse:
    ctx = context(request)
    try:
        token = ctx.tokens.create(principal.user_id, name, role)
    except ValueError as exc:
        raise HTTPException(403, str(exc)) from None
    ctx.accounts.audit(actor_of(request, principal), "token.create", name, role=role.value)
    rows = ctx.tokens.of_user(principal.user_id)
    roles = [r for r in Role if principal.role.allows(r)]
    return render(
        request, "tokens.html", {"rows": rows, "roles": roles, "new_token": token}, principal=principal
    )


@router.post("/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: int, principal: Viewer) -> Response:
    ctx = context(request)
    revoked = ctx.tokens.revoke(principal.user_id, token_id, datetime.now(UTC))
    outcome = "ok" if revoked else "failed"
    ctx.accounts.audit(actor_of(request, principal), "token.revoke", str(token_id), outcome=outcome)
    return RedirectResponse("/tokens", status_code=303)
