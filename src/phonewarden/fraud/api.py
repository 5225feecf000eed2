"""HTTP API under /api/v1/fraud: authorize (from memory), CDR push, restrictions, accounts.

`GET /authorize?account=&destination=` is what the PBX asks before routing a call (authorize_http.py).
`POST /cdr` takes FreeSWITCH mod_json_cdr pushes (raw JSON, `cdr=` url-encoded or base64), generic
JSON objects, and batches as text/csv (any CSV format the readers know) or JSON Lines. Both
authenticate the PBX themselves with a token from `[fraud] pbx_tokens` (or the legacy `push_token`),
in memory; with none configured only loopback clients may use them (pbx_auth.py). The console exempts
them from operator login: `SELF_AUTHENTICATED`. The other routes need a viewer (reads) or an operator
(lift, ack), who is the actor in the audit trail. Accounts, their series and open alerts read the store
the service writes (views.py, series.py); the alert history is `GET /api/v1/findings?guard=fraud`.
"""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from sqlalchemy import Engine
from starlette.routing import Route

from phonewarden.console.auth import ApiActor
from phonewarden.console.pagination import PAGED, Paging
from phonewarden.core.records import iso_time
from phonewarden.fraud.authorize_http import AuthorizeEndpoint
from phonewarden.fraud.cdr import CdrFormatError, CdrRowError, LocalTimeParser
from phonewarden.fraud.pbx_auth import request_token
from phonewarden.fraud.readers import ReadReport, detect_format, read_text
from phonewarden.fraud.readers_csv import GenericCsv
from phonewarden.fraud.readers_json import decode_push_body, json_object_cdr
from phonewarden.fraud.restrictions import destination_digits
from phonewarden.fraud.series import DAYS, account_series
from phonewarden.fraud.service import get_service, ingest_running
from phonewarden.fraud.views import account_rows, open_alert_rows

router = APIRouter()
SELF_AUTHENTICATED = frozenset({"/authorize", "/cdr"})
GENERIC_HEADER = ["account", "destination", "start", "answer", "end", "billsec", "source", "call_id"]
CSV_TYPES = frozenset({"text/csv", "application/csv"})
JSON_LINES_TYPES = frozenset({"application/x-ndjson", "application/jsonl", "application/jsonlines"})
MAX_LINES_BYTES = 16 << 20


# The PBX asks before every call: a bare ASGI endpoint (authorize_http), not a FastAPI route.
router.routes.append(Route("/authorize", AuthorizeEndpoint(), methods=["GET"], name="fraud-authorize"))


def _check_pusher(request: Request, token: str | None) -> None:
    # Bearer, HTTP Basic with the token as password (FreeSWITCH's `cred`), or ?token= (see request_token).
    given = request_token(request.headers.get("authorization", ""), token)
    verdict = get_service().pbx_tokens.check(given, request.client.host if request.client else "")
    if verdict.pbx is None:
        headers = {"WWW-Authenticate": 'Bearer, Basic realm="phonewarden"'} if verdict.status == 401 else None
        raise HTTPException(verdict.status, verdict.detail, headers=headers)


@router.post("/cdr")
async def push_cdr(request: Request, token: str | None = None, uuid: str | None = None) -> dict[str, Any]:
    _check_pusher(request, token)
    if uuid is None and token and "?uuid=" in token:  # mod_json_cdr's "%s?uuid=%s" after ?token=
        uuid = token.partition("?uuid=")[2]
    service = get_service()
    body = await request.body()
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind in CSV_TYPES or kind in JSON_LINES_TYPES:
        return _push_lines(body, kind)
    try:
        document = decode_push_body(body, kind)
        local = LocalTimeParser(service.settings.cdr_timezone)
        generic = GenericCsv(local, GENERIC_HEADER, service.settings.generic_fields)
        cdr = json_object_cdr(document, generic)
    except CdrRowError as exc:
        raise HTTPException(400, f"CDR rejected: {exc}") from None
    if cdr is None:  # answered 2xx: FreeSWITCH would otherwise retry it
        return {"accepted": 0, "skipped": "FreeSWITCH B leg (the A leg's CDR has the call)", "records": []}
    cdr.origin = f"push:{uuid or cdr.call_id}"
    outputs = ingest_running(service, [cdr])
    return {"accepted": 1, "records": [out.to_json() for out in outputs]}


def _push_lines(body: bytes, kind: str) -> dict[str, Any]:
    """text/csv (with a header row, or an Asterisk/FreeSWITCH/Kamailio format) or JSON Lines: bad rows
    are skipped and named `push:LINE: what`; 400 only when no row at all could be read."""
    service = get_service()
    if len(body) > MAX_LINES_BYTES:
        raise HTTPException(400, f"CDR rejected: body of {len(body)} bytes is over {MAX_LINES_BYTES}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(400, f"CDR rejected: body is not UTF-8 (byte {exc.start})") from None
    report = ReadReport()
    try:
        fmt = "generic-json" if kind in JSON_LINES_TYPES else detect_format(text[:8192])
        cdrs = list(read_text(io.StringIO(text, newline=None), "push", fmt, service.settings, report))
    except CdrFormatError as exc:
        raise HTTPException(400, f"CDR rejected: {exc}") from None
    if not cdrs and report.bad_rows:
        raise HTTPException(400, "CDR rejected: no row could be read; " + "; ".join(report.errors[:5]))
    outputs = ingest_running(service, cdrs)
    return {
        "accepted": len(cdrs),
        "format": fmt,
        "bad_rows": report.bad_rows,
        "errors": report.errors[:20],
        "records": [out.to_json() for out in outputs],
    }


@router.get("/restrictions")
def restrictions() -> list[dict[str, Any]]:
    return [restriction.to_json() for restriction in get_service().restrictions()]


@router.post("/restrictions/{account}/lift")
def lift(account: str, actor: ApiActor) -> dict[str, Any]:
    """Lift the account's restriction; the audit trail names the logged-in operator or token owner."""
    if not get_service().lift(account, actor.name):
        raise HTTPException(404, f"account {account!r} has no active restriction")
    return {"account": account, "lifted": True, "by": actor.name}


@router.post("/destinations/{destination}/lift")
def lift_destination(destination: str, actor: ApiActor) -> dict[str, Any]:
    """Unblock a number blocked for every account (a Wangiri call-back number)."""
    try:
        digits = destination_digits(destination)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    if not digits or not get_service().lift_destination(digits, actor.name):
        raise HTTPException(404, f"number {destination!r} is not blocked")
    return {"destination": digits, "lifted": True, "by": actor.name}


@router.post("/accounts/{account}/ack")
def acknowledge(account: str, actor: ApiActor) -> dict[str, Any]:
    """Acknowledge the account's open alerts (a person looked): no automatic restriction for them."""
    done = get_service().acknowledge(account, actor.name)
    return {"account": account, "acknowledged": done, "by": actor.name}


def _store() -> Engine:
    db = get_service().db
    if db is None:
        raise HTTPException(503, "the fraud guard runs without a database here: nothing stored to read")
    return db


def _account_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (-row["level"], -row["cost"], row["account"])  # worst first


@router.get("/accounts", responses=PAGED)
def accounts(page: Paging) -> list[dict[str, Any]]:
    """Accounts with calls in the last 7 days, worst first: calls, cost, minutes, level, warm, last_call.
    Without a database (a bare test app), the running detector's accounts."""
    service = get_service()
    db = service.db
    rows = service.accounts(10_000) if db is None else account_rows(service, db, time.time())
    for row in rows:
        row["last_call"] = iso_time(row["last_call"])
    return page.of_list(rows, _account_key)


@router.get("/accounts/{account}/series")
def series(
    account: str, days: Annotated[int, Query(ge=1, le=28, description="hours of the last N days")] = DAYS
) -> dict[str, Any]:
    """Per hour (epoch seconds, UTC): calls, cost and the baseline band (median, upper; null while
    unlearned). `baseline_from` says whether the band comes from the running detector or the store."""
    return account_series(get_service(), _store(), account, time.time(), days)


@router.get("/alerts")
def open_alerts() -> list[dict[str, Any]]:
    """Open alerts (what the overview's tile counts): high/critical, last 24 h, not acknowledged or
    lifted since; `deadline` is set while the running service waits for an acknowledgement."""
    rows = open_alert_rows(get_service(), _store(), datetime.now(UTC))
    return [{key: value for key, value in row.items() if key != "epoch"} for row in rows]
