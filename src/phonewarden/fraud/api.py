"""HTTP API under /api/v1/fraud: authorize (from memory), CDR push, restrictions, accounts.

`GET /authorize?account=&destination=` is what the PBX asks before routing a call (authorize_http.py).
`POST /cdr` takes FreeSWITCH mod_json_cdr pushes (raw JSON, `cdr=` url-encoded or base64) and generic
JSON objects. Both authenticate the PBX themselves with a token from `[fraud] pbx_tokens` (or the legacy
`push_token`), in memory; with none configured only loopback clients may use them (pbx_auth.py). The
console exempts them from operator login: `SELF_AUTHENTICATED`. The other routes need an operator.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.routing import Route

from phonewarden.fraud.authorize_http import AuthorizeEndpoint
from phonewarden.fraud.cdr import CdrRowError, LocalTimeParser
from phonewarden.fraud.pbx_auth import bearer
from phonewarden.fraud.readers_csv import GenericCsv
from phonewarden.fraud.readers_json import decode_push_body, json_object_cdr
from phonewarden.fraud.service import get_service

router = APIRouter()
SELF_AUTHENTICATED = frozenset({"/authorize", "/cdr"})
GENERIC_HEADER = ["account", "destination", "start", "answer", "end", "billsec", "source", "call_id"]


# The PBX asks before every call: a bare ASGI endpoint (authorize_http), not a FastAPI route.
router.routes.append(Route("/authorize", AuthorizeEndpoint(), methods=["GET"], name="fraud-authorize"))


def _check_pusher(request: Request, token: str | None) -> None:
    given = token or bearer(request.headers.get("authorization", ""))
    verdict = get_service().pbx_tokens.check(given, request.client.host if request.client else "")
    if verdict.pbx is None:
        headers = {"WWW-Authenticate": "Bearer"} if verdict.status == 401 else None
        raise HTTPException(verdict.status, verdict.detail, headers=headers)


@router.post("/cdr")
async def push_cdr(request: Request, token: str | None = None, uuid: str | None = None) -> dict[str, Any]:
    _check_pusher(request, token)
    service = get_service()
    body = await request.body()
    try:
        document = decode_push_body(body, request.headers.get("content-type", "application/json"))
        local = LocalTimeParser(service.settings.cdr_timezone)
        generic = GenericCsv(local, GENERIC_HEADER, service.settings.generic_fields)
        cdr = json_object_cdr(document, generic)
    except CdrRowError as exc:
        raise HTTPException(400, f"CDR rejected: {exc}") from None
    cdr.origin = f"push:{uuid or cdr.call_id}"
    outputs = service.ingest([cdr])
    return {"accepted": 1, "records": [out.to_json() for out in outputs]}


@router.get("/restrictions")
def restrictions() -> list[dict[str, Any]]:
    return [restriction.to_json() for restriction in get_service().restrictions()]


@router.post("/restrictions/{account}/lift")
def lift(account: str, actor: str = "api") -> dict[str, Any]:
    if not get_service().lift(account, actor):
        raise HTTPException(404, f"account {account!r} has no active restriction")
    return {"account": account, "lifted": True}


@router.post("/accounts/{account}/ack")
def acknowledge(account: str, actor: str = "api") -> dict[str, Any]:
    return {"account": account, "acknowledged": get_service().acknowledge(account, actor)}


@router.get("/accounts")
def accounts(limit: Annotated[int, Query(ge=1, le=10000)] = 1000) -> list[dict[str, Any]]:
    return get_service().accounts(limit)
