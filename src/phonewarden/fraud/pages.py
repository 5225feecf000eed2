"""The fraud guard's console pages, mounted at /fraud (viewer role; see docs/console.md for the contract).

/fraud/accounts              accounts with calls in the last 7 days: calls, cost, level, warm, last call
/fraud/accounts/{account}    calls and cost per hour against the baseline band (chart), alerts, restrictions
/fraud/restrictions          active account restrictions and destination blocks; lift (operators)
/fraud/alerts                open alerts (history.py: high/critical, last 24 h, not acknowledged or lifted)
                             with their deadline when one runs; recent alerts; acknowledge (operators)
POST /fraud/restrictions/lift, POST /fraud/restrictions/unblock (a number block), POST /fraud/alerts/ack:
operator role and CSRF (checked by `Operator`), written to the console's audit log. The account travels
in a form field: account names may hold "/".

Restrictions come from the running service (memory, as the authorize check does, synced from the store
first); a lift is also stored, so that `phonewarden fraud restrictions` and a restart agree. Accounts,
their hours and alerts come from the store (written by the service), so another process's data shows.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from phonewarden.console.auth import Operator, Viewer, actor_of, context
from phonewarden.console.pagination import MAX_CURSOR, encode_cursor, page_key
from phonewarden.console.policy import Role
from phonewarden.console.shell import render
from phonewarden.core.records import iso_time
from phonewarden.fraud import history
from phonewarden.fraud.restrictions import LEVEL_NAMES, destination_digits
from phonewarden.fraud.series import account_series
from phonewarden.fraud.service import current_service, get_service
from phonewarden.fraud.views import AccountKey, account_key, account_rows, open_alert_rows

router = APIRouter(include_in_schema=False)
NAV = [
    ("Fraud accounts", "/fraud/accounts"),
    ("Fraud restrictions", "/fraud/restrictions"),
    ("Fraud alerts", "/fraud/alerts"),
]
Account = Annotated[str, Form(min_length=1, max_length=255)]
Number = Annotated[str, Form(min_length=1, max_length=32)]
PER_PAGE = 100
RECENT_ALERTS = 100


Cursor = Annotated[str, Query(max_length=MAX_CURSOR, description="the next-page cursor from a link")]


def accounts_cursor(text: str) -> AccountKey | None:
    """The sort key a next-page link carried; 422 naming the parameter when it is not one."""
    key = page_key(text, "/fraud/accounts", (int, (int, float), str))
    return None if key is None else (key[0], float(key[1]), key[2])


@router.get("/accounts", response_class=HTMLResponse)
def accounts_page(request: Request, principal: Viewer, before: Cursor = "") -> HTMLResponse:
    after = accounts_cursor(before)
    rows = account_rows(get_service(), context(request).engine, time.time(), after, PER_PAGE + 1)
    shown = rows[:PER_PAGE]
    following = encode_cursor(account_key(shown[-1])) if len(rows) > PER_PAGE else ""
    view = {
        "rows": [{**row, "last_call": iso_time(row["last_call"])} for row in shown],
        "first": after is None,
        "next": f"/fraud/accounts?{urlencode({'before': following})}" if following else "",
        "level_names": LEVEL_NAMES,
    }
    return render(request, "fraud/accounts.html", view, principal=principal)


@router.get("/accounts/{account:path}", response_class=HTMLResponse)
def account_page(request: Request, principal: Viewer, account: str) -> HTMLResponse:
    engine, now = context(request).engine, time.time()
    series = account_series(get_service(), engine, account, now)
    with Session(engine) as session:
        alerts = [_alert_row(f) for f in history.account_alerts(session, account)]
        audit = [_audit_row(a) for a in history.account_audit(session, account)]
    if not alerts and not audit and not any(series["calls"]):
        raise HTTPException(404, f"account {account!r}: no calls, alerts or restrictions stored")
    view = {
        "account": account,
        "chart": json.dumps(series),
        "currency": series["currency"],
        "calls": sum(series["calls"]),
        "cost": round(sum(series["cost"]), 2),
        "baseline_from": series["baseline_from"],
        "has_band": any(value is not None for value in series["upper"]),
        "alerts": alerts,
        "audit": audit,
        "level": get_service().engine.book.level(account, now),
        "level_names": LEVEL_NAMES,
    }
    return render(request, "fraud/account.html", view, principal=principal)


def _alert_row(finding: Any) -> dict[str, Any]:
    evidence = finding.evidence if isinstance(finding.evidence, dict) else {}
    return {
        "time": iso_time(finding.time.timestamp()),
        "account": finding.subject,
        "detector": finding.kind,
        "severity": str(finding.severity),
        "reason": finding.reason,
        "estimated_cost": evidence.get("estimated_cost", ""),
        "destination": evidence.get("destination", ""),
        "calls": [str(call.get("call", "")) for call in evidence.get("recent_calls", [])]
        or [str(call) for call in evidence.get("calls", [])],
    }


def _audit_row(entry: Any) -> dict[str, Any]:
    return {
        "time": iso_time(entry.time.timestamp()),
        "action": entry.action,
        "level": entry.level,
        "actor": entry.actor,
        "reason": entry.reason,
        "until": iso_time(entry.until.timestamp()) if entry.until is not None else "",
    }


@router.get("/restrictions", response_class=HTMLResponse)
def restrictions_page(request: Request, principal: Viewer) -> HTMLResponse:
    get_service().sync_restrictions()  # restrictions stored by another process (`phonewarden demo`)
    rows = [
        {**r.to_json(), "level_name": LEVEL_NAMES.get(r.level, ""), "blocks_number": bool(r.destination)}
        for r in get_service().restrictions()
    ]
    page = {
        "rows": rows,
        "can_change": principal.role.allows(Role.OPERATOR),
        "lifted": request.query_params.get("lifted", ""),
    }
    return render(request, "fraud/restrictions.html", page, principal=principal)


@router.post("/restrictions/lift")
def lift(request: Request, principal: Operator, account: Account) -> Response:
    actor = actor_of(request, principal)
    lifted = get_service().lift(account, principal.name)
    context(request).accounts.audit(actor, "fraud.lift", account, outcome="ok" if lifted else "failed")
    if not lifted:
        raise HTTPException(404, f"account {account!r} has no active restriction")
    return RedirectResponse(f"/fraud/restrictions?lifted={account}", status_code=303)


@router.post("/restrictions/unblock")
def unblock(request: Request, principal: Operator, destination: Number) -> Response:
    """Lift a number block (Wangiri); `destination` as listed, +E.164."""
    try:
        digits = destination_digits(destination)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    lifted = get_service().lift_destination(digits, principal.name)
    outcome = "ok" if lifted else "failed"
    context(request).accounts.audit(actor_of(request, principal), "fraud.lift", f"+{digits}", outcome=outcome)
    if not lifted:
        raise HTTPException(404, f"number +{digits} is not blocked")
    return RedirectResponse(f"/fraud/restrictions?lifted=%2B{digits}", status_code=303)


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, principal: Viewer) -> HTMLResponse:
    engine, now = context(request).engine, datetime.now(UTC)
    with Session(engine) as session:
        recent = [_alert_row(f) for f in history.recent_alerts(session, RECENT_ALERTS)]
    page = {
        "rows": open_alert_rows(current_service(), engine, now),
        "recent": recent,
        "open_hours": history.OPEN_HOURS,
        "can_change": principal.role.allows(Role.OPERATOR),
        "acknowledged": request.query_params.get("acknowledged", ""),
        "timeout": get_service().settings.ack_timeout_minutes,
    }
    return render(request, "fraud/alerts.html", page, principal=principal)


@router.post("/alerts/ack")
def acknowledge(request: Request, principal: Operator, account: Account) -> Response:
    done = get_service().acknowledge(account, principal.name)
    outcome = "ok" if done else "failed"
    context(request).accounts.audit(actor_of(request, principal), "fraud.ack", account, outcome=outcome)
    if not done:
        raise HTTPException(404, f"account {account!r} has no alert waiting for acknowledgement")
    return RedirectResponse(f"/fraud/alerts?acknowledged={account}", status_code=303)
