"""The fraud guard's console pages, mounted at /fraud (viewer role; see docs/console.md for the contract).

/fraud/restrictions          active account restrictions and destination blocks; lift (operators)
/fraud/alerts                high alerts waiting for a person, with their deadline; acknowledge (operators)
POST /fraud/restrictions/lift, POST /fraud/alerts/ack: operator role and CSRF (checked by `Operator`),
written to the console's audit log. The account travels in a form field: account names may hold "/".

Both read the running service (memory, as the authorize check does); a lift is also stored, so that
`phonewarden fraud restrictions` and a restart agree.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from phonewarden.console.auth import Operator, Viewer, actor_of, context
from phonewarden.console.policy import Role
from phonewarden.console.shell import render
from phonewarden.core.records import iso_time
from phonewarden.fraud.restrictions import LEVEL_NAMES
from phonewarden.fraud.service import get_service

router = APIRouter(include_in_schema=False)
NAV = [("Fraud restrictions", "/fraud/restrictions"), ("Fraud alerts", "/fraud/alerts")]
Account = Annotated[str, Form(min_length=1, max_length=255)]


@router.get("/restrictions", response_class=HTMLResponse)
def restrictions_page(request: Request, principal: Viewer) -> HTMLResponse:
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


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, principal: Viewer) -> HTMLResponse:
    rows = [
        {**alert.to_json(), "deadline": iso_time(deadline)} for deadline, alert in get_service().open_alerts()
    ]
    page = {
        "rows": rows,
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
