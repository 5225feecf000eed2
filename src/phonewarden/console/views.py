"""The logged-in pages: overview with chart, lists behind the tiles, findings, audit log, API tokens."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from phonewarden.console import audit_log
from phonewarden.console.auth import Admin, Operator, Viewer, actor_of, context, now_utc
from phonewarden.console.overview import (
    CURSOR_TYPES,
    PAGES,
    TILES,
    TILES_BY_KEY,
    Cursor,
    hourly_series,
    tile_count,
    tile_page,
)
from phonewarden.console.pagination import MAX_CURSOR, decode_cursor, encode_cursor
from phonewarden.console.policy import Role
from phonewarden.console.shell import render
from phonewarden.store.engine import session_factory
from phonewarden.store.models import Finding, Guard, Severity

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100
UNPAGED_LIMIT = 500  # a list the database does not page (held in memory) shows this many rows
E = TypeVar("E", bound=StrEnum)


@router.get("/overview", response_class=HTMLResponse)
def overview(request: Request, principal: Viewer) -> HTMLResponse:
    engine, now = context(request).engine, now_utc()
    tiles = [(tile, tile_count(tile, engine, now)) for tile in TILES]
    chart = json.dumps(hourly_series(engine, now))
    return render(request, "overview.html", {"tiles": tiles, "chart": chart}, principal=principal)


def page_cursor(key: Cursor) -> str:
    """A list's sort key as the opaque `before` parameter of its next-page link."""
    return encode_cursor(tuple(v.isoformat() if isinstance(v, datetime) else v for v in key))


def read_cursor(list_key: str, text: str) -> Cursor:
    """The sort key a next-page link carried, checked against the list's key types (422 if foreign)."""
    types = CURSOR_TYPES.get(list_key)
    if types is None:
        raise HTTPException(422, f"before: the list {list_key!r} has a single page")
    raw = decode_cursor(text)
    wrong = HTTPException(422, f"before: {text[:40]!r} is not a cursor of /lists/{list_key}: follow its link")
    if len(raw) != len(types):
        raise wrong
    values: list[Any] = []
    for value, kind in zip(raw, types, strict=True):
        if kind is datetime and isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                raise wrong from None
            if value.tzinfo is None:
                raise wrong
        if not isinstance(value, kind) or isinstance(value, bool):
            raise wrong
        values.append(value)
    return tuple(values)


Before = Annotated[str, Query(max_length=MAX_CURSOR, description="the next-page cursor from a link")]


@router.get("/lists/{key}", response_class=HTMLResponse)
def tile_list(request: Request, key: str, principal: Viewer, before: Before = "") -> HTMLResponse:
    tile = TILES_BY_KEY.get(key)
    if tile is None:
        raise HTTPException(404, f"no list {key!r}; known: {', '.join(TILES_BY_KEY)}")
    after = read_cursor(key, before) if before else None
    limit = PAGE_SIZE if key in PAGES else UNPAGED_LIMIT
    page = tile_page(tile, context(request).engine, now_utc(), after, limit)
    table, following = page if page is not None else (None, None)
    context_ = {
        "tile": tile,
        "table": table,
        "next": f"/lists/{key}?{urlencode({'before': page_cursor(following)})}" if following else "",
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


def parse_since(text: str) -> datetime:
    """The form's `since`: a date or date and time, UTC unless it names a zone (as the table shows UTC)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise HTTPException(
            422, f"since: {text[:40]!r} is not a date or time; write 2026-11-25 or 2026-11-25T10:00 (UTC)"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def choice(kind: type[E], name: str, text: str) -> E | None:
    """A form's enum filter: empty is "all", anything else must be one of the values."""
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        known = ", ".join(member.value for member in kind)
        raise HTTPException(422, f"{name}: {text[:40]!r} is not one of {known}") from None


# The filters come from a form whose "all" is an empty value, so they are read as text and checked here.
Text = Annotated[str, Query(max_length=255)]


@router.get("/findings", response_class=HTMLResponse)
def findings(
    request: Request,
    principal: Viewer,
    guard: Text = "",
    severity: Text = "",
    subject: Text = "",
    since: Annotated[
        str, Query(max_length=64, description="event time at or after (UTC unless a zone)")
    ] = "",
    before: Annotated[
        int | None, Query(ge=1, description="show findings with a smaller id (next page)")
    ] = None,
) -> HTMLResponse:
    # Keyset pagination on the primary key: the same cost on page 1 and page 10,000.
    query = select(Finding).order_by(Finding.id.desc()).limit(PAGE_SIZE)
    filters = {"guard": guard, "severity": severity, "subject": subject.strip(), "since": since.strip()}
    if (wanted_guard := choice(Guard, "guard", guard)) is not None:
        query = query.where(Finding.guard == wanted_guard)
    if (wanted_severity := choice(Severity, "severity", severity)) is not None:
        query = query.where(Finding.severity == wanted_severity)
    if filters["subject"]:
        query = query.where(Finding.subject == filters["subject"])
    if filters["since"]:
        query = query.where(Finding.time >= parse_since(filters["since"]))
    if before is not None:
        query = query.where(Finding.id < before)
    with session_factory(context(request).engine)() as session:
        rows = list(session.scalars(query))
    given = {name: value for name, value in filters.items() if value}
    following = ""
    if len(rows) == PAGE_SIZE:
        following = "/findings?" + urlencode({**given, "before": rows[-1].id})
    page = {"rows": rows, **filters, "next": following, "guards": list(Guard), "severities": list(Severity)}
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
