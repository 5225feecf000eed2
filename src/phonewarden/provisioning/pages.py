"""The provisioning guard's console pages, mounted at /provisioning (viewer role; see docs/console.md).

/provisioning/phones         the inventory: MAC, vendor, model, site, enrollment window, fetches, client
                             certificate; operators open a device's window again or retire it (every
                             secret rotated, window closed, a wipe config on the next fetch)
/provisioning/fetches        the decision log of config fetches, newest first: served or the denial
                             reason, client address, MAC; keyset pagination (`?before=<id>`), filters
POST /provisioning/phones/open, /provisioning/phones/retire: operator role and CSRF (checked by `Operator`),
written to the console's audit log as provisioning.open / provisioning.retire.

No page reads a secret column: the queries name the columns they show, so a password cannot reach the HTML
even by a template mistake. Changes go through the inventory the API uses (it holds the encryption key).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine, or_, select, tuple_

from phonewarden.console.auth import Operator, Viewer, actor_of, context, now_utc
from phonewarden.console.pagination import MAX_CURSOR, encode_cursor, page_key
from phonewarden.console.policy import Role
from phonewarden.console.shell import render
from phonewarden.provisioning.api import inventory
from phonewarden.provisioning.gate import Reason
from phonewarden.provisioning.identify import normalize_mac
from phonewarden.provisioning.inventory import Inventory, InventoryError
from phonewarden.provisioning.models import ProvDevice, ProvEvent, ProvSite
from phonewarden.store.engine import session_factory

router = APIRouter(include_in_schema=False)
NAV = [("Provisioning phones", "/provisioning/phones"), ("Provisioning fetches", "/provisioning/fetches")]
PAGE_SIZE = 100
FETCH_ACTIONS = ("fetch", "deny", "ban", "enumeration")  # what the device plane writes per request/source
CERT_DENIALS = (Reason.NO_CERT.value, Reason.CERT_MAC.value)
SERVED = (Reason.SERVED.value, Reason.SERVED_WIPE.value)
Mac = Annotated[str, Form(min_length=12, max_length=17)]


@dataclass(frozen=True)
class PhoneRow:
    mac: str
    vendor: str
    model: str
    site: str
    owner: str
    state: str
    window: str  # "open", "closed", "not open", "used up"
    window_note: str
    fetches: int
    max_fetches: int
    wipe_pending: bool
    consent_pending: bool
    cert: str

    @property
    def can_open(self) -> bool:
        return self.state == "active"


def _window(
    state: str, opened: datetime | None, until: datetime | None, used: int, allowed: int, now: datetime
) -> tuple[str, str]:
    if state != "active":
        return "closed", "retired"
    if opened is None or now < opened:
        return "not open", f"opens {opened:%Y-%m-%d %H:%M}" if opened else "never opened"
    if until is None or now >= until:
        return "closed", f"since {until:%Y-%m-%d %H:%M}" if until else ""
    if used >= allowed:
        return "used up", f"{used} of {allowed} fetches"
    return "open", f"until {until:%Y-%m-%d %H:%M}"


def cert_outcomes(engine: Engine, macs: list[str]) -> dict[str, tuple[str, str, datetime]]:
    """Per MAC, the newest fetch that decided on its client certificate: (action, reason, time)."""
    if not macs:
        return {}
    decided = or_(
        (ProvEvent.action == "fetch") & ProvEvent.reason.in_(SERVED),
        (ProvEvent.action == "deny") & ProvEvent.reason.in_(CERT_DENIALS),
    )
    # Per phone its newest deciding event, walking the MAC index from the newest row: a phone with 100
    # fetches costs what one with one does (a max() over all the phones' events read 200,000 rows).
    newest = (
        select(ProvEvent.id)
        .where(ProvEvent.mac == ProvDevice.mac, decided)
        .order_by(ProvEvent.id.desc())
        .limit(1)
        .correlate(ProvDevice)
        .scalar_subquery()
    )
    ids = select(newest).where(ProvDevice.mac.in_(macs))
    query = select(ProvEvent.mac, ProvEvent.action, ProvEvent.reason, ProvEvent.time).where(
        ProvEvent.id.in_(ids)
    )
    with session_factory(engine)() as session:
        return {mac: (action, reason, time) for mac, action, reason, time in session.execute(query)}


def _cert(required: bool, outcome: tuple[str, str, datetime] | None) -> str:
    if not required:
        return "not required"
    if outcome is None:
        return "required, not presented yet"
    action, reason, when = outcome
    verdict = "verified" if action == "fetch" else reason
    return f"required, {verdict} {when:%Y-%m-%d %H:%M}"


def phones(
    engine: Engine, now: datetime, after: tuple[str, str] | None = None, limit: int | None = None
) -> list[PhoneRow]:
    """The inventory by site and MAC after the (site, MAC) cursor, at most `limit` phones, without any
    secret column. Keyset: the last page costs what the first does."""
    query = (
        select(
            ProvDevice.mac, ProvDevice.vendor, ProvDevice.model, ProvSite.name, ProvDevice.owner,
            ProvDevice.state, ProvDevice.window_from, ProvDevice.window_until, ProvDevice.fetches,
            ProvSite.max_fetches, ProvDevice.wipe_pending, ProvDevice.config_version,
            ProvDevice.approved_version, ProvSite.require_consent, ProvSite.require_client_cert,
        )
        .join(ProvSite, ProvSite.id == ProvDevice.site_id)
        .order_by(ProvSite.name, ProvDevice.mac)
        .limit(limit)
    )  # fmt: skip
    if after is not None:
        query = query.where(tuple_(ProvSite.name, ProvDevice.mac) > tuple_(*after))
    with session_factory(engine)() as session:
        found = list(session.execute(query))
    certs = cert_outcomes(engine, [row.mac for row in found if row.require_client_cert])
    rows = []
    for r in found:
        window, note = _window(r.state, r.window_from, r.window_until, r.fetches, r.max_fetches, now)
        rows.append(
            PhoneRow(
                r.mac, r.vendor, r.model, r.name, r.owner, r.state, window, note, r.fetches, r.max_fetches,
                r.wipe_pending, r.require_consent and r.config_version > r.approved_version,
                _cert(r.require_client_cert, certs.get(r.mac)),
            )
        )  # fmt: skip
    return rows


def phone_page(
    engine: Engine, now: datetime, after: tuple[str, str] | None
) -> tuple[list[PhoneRow], tuple[str, str] | None]:
    """One page of phones and the cursor of the next (None: the last)."""
    rows = phones(engine, now, after, PAGE_SIZE + 1)
    shown = rows[:PAGE_SIZE]
    return shown, (shown[-1].site, shown[-1].mac) if len(rows) > PAGE_SIZE else None


def phones_cursor(text: str) -> tuple[str, str] | None:
    """The (site, MAC) a next-page link carried; 422 naming the parameter when it is not one."""
    key = page_key(text, "/provisioning/phones", (str, str))
    return None if key is None else (key[0], key[1])


def fetch_log(engine: Engine, before: int | None, mac: str | None, outcome: str | None) -> list[ProvEvent]:
    """Fetch decisions newest first, PAGE_SIZE at a time (keyset on the id: every page costs the same)."""
    actions = {"served": ("fetch",), "denied": ("deny",)}.get(outcome or "", FETCH_ACTIONS)
    query = (
        select(ProvEvent).where(ProvEvent.action.in_(actions)).order_by(ProvEvent.id.desc()).limit(PAGE_SIZE)
    )
    if before is not None:
        query = query.where(ProvEvent.id < before)
    if mac:
        query = query.where(ProvEvent.mac == mac)
    with session_factory(engine)() as session:
        rows = list(session.scalars(query))
        session.expunge_all()
        return rows


Cursor = Annotated[str, Query(max_length=MAX_CURSOR, description="the next-page cursor from a link")]


@router.get("/phones", response_class=HTMLResponse)
def phones_page(request: Request, principal: Viewer, before: Cursor = "") -> HTMLResponse:
    rows, following = phone_page(context(request).engine, now_utc(), phones_cursor(before))
    page = {
        "rows": rows,
        "next": f"/provisioning/phones?{urlencode({'before': encode_cursor(following)})}"
        if following
        else "",
        "can_change": principal.role.allows(Role.OPERATOR),
        "done": request.query_params.get("done", ""),
    }
    return render(request, "provisioning/phones.html", page, principal=principal)


def _change(
    request: Request, principal: Operator, action: str, mac: str, change: Callable[[str], object]
) -> Response:
    actor = actor_of(request, principal)
    accounts = context(request).accounts
    try:
        key = normalize_mac(mac)
        change(key)
    except (ValueError, InventoryError) as exc:
        accounts.audit(actor, f"provisioning.{action}", mac, outcome="failed")
        raise HTTPException(422 if isinstance(exc, ValueError) else 409, f"cannot {action}: {exc}") from None
    accounts.audit(actor, f"provisioning.{action}", key)
    return RedirectResponse(f"/provisioning/phones?done={action}+{key}", status_code=303)


Inv = Annotated[Inventory, Depends(inventory)]


@router.post("/phones/open")
def open_window(request: Request, principal: Operator, inv: Inv, mac: Mac) -> Response:
    """A new enrollment window of the site's length; the fetch count starts again."""
    return _change(request, principal, "open", mac, inv.open_window)


@router.post("/phones/retire")
def retire(request: Request, principal: Operator, inv: Inv, mac: Mac) -> Response:
    """Revoke: every secret rotated, window closed, the next fetch gets a wipe config."""
    why = f"console, by {principal.name}"
    return _change(request, principal, "retire", mac, lambda key: inv.retire(key, why))


Before = Annotated[int | None, Query(ge=1, description="show older entries than this id (next page)")]
MacFilter = Annotated[str, Query(max_length=17)]
Outcome = Annotated[str, Query(pattern="^(|served|denied)$")]


@router.get("/fetches", response_class=HTMLResponse)
def fetches_page(
    request: Request, principal: Viewer, before: Before = None, mac: MacFilter = "", outcome: Outcome = ""
) -> HTMLResponse:
    try:
        key = normalize_mac(mac) if mac else ""
    except ValueError as exc:
        raise HTTPException(422, f"mac filter: {exc}") from None
    rows = fetch_log(context(request).engine, before, key or None, outcome or None)
    page = {
        "rows": rows,
        "mac": key,
        "outcome": outcome,
        "next": rows[-1].id if len(rows) == PAGE_SIZE else None,
    }
    return render(request, "provisioning/fetches.html", page, principal=principal)
