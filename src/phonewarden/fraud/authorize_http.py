"""`GET /authorize` as a bare ASGI endpoint: the PBX asks it before every call, so it must stay fast.

The PBX authenticates with a token from `[fraud] pbx_tokens` (pbx_auth.py), also checked in memory:
the console exempts this route from operator login (`SELF_AUTHENTICATED` in api.py).

FastAPI's parameter solving and response models cost ~0.3-0.5 ms a request on a busy core, which is
most of the budget at 1k req/s (p99 <= 2 ms). This endpoint parses the query string itself, answers
from memory (no database, no thread hop) and writes the response in two ASGI messages. Errors keep
FastAPI's shape: 422 with `{"detail": [{"loc": ["query", name], "msg", "type"}]}`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from phonewarden.fraud.pbx_auth import bearer
from phonewarden.fraud.service import get_service

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

LIMITS = {"account": 255, "destination": 64}  # max lengths; both required, at least 1 character
FORMATS = ("json", "text")
_TEXT = [(b"content-type", b"text/plain; charset=utf-8")]
_JSON = [(b"content-type", b"application/json")]
_encode = msgspec.json.Encoder().encode


def parse_query(query: bytes) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The authorize parameters, and FastAPI-style validation errors (empty when all is well)."""
    text = query.decode("latin-1")
    if "%" in text or "+" in text:
        params = dict(parse_qsl(text, keep_blank_values=True))
    else:  # nothing to unquote (what PBXs send): the same pairs as parse_qsl at a third of its cost
        params = {name: value for name, _, value in (part.partition("=") for part in text.split("&") if part)}
    errors: list[dict[str, Any]] = []
    for name, longest in LIMITS.items():
        value = params.get(name)
        if value is None:
            errors.append({"loc": ["query", name], "msg": "Field required", "type": "missing"})
        elif not 1 <= len(value) <= longest:
            errors.append(
                {"loc": ["query", name], "msg": f"must be 1 to {longest} characters", "type": "string_length"}
            )
    if params.setdefault("format", "json") not in FORMATS:
        errors.append(
            {"loc": ["query", "format"], "msg": "Input should be 'json' or 'text'", "type": "literal_error"}
        )
    return params, errors


async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    head = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


class AuthorizeEndpoint:
    """ASGI app for `GET /authorize?account=&destination=[&format=text]`; `headers` go on every answer."""

    def __init__(self, headers: Mapping[str, str] | None = None) -> None:
        extra = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in (headers or {}).items()
        ]
        self.text, self.json = [*_TEXT, *extra], [*_JSON, *extra]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        service = get_service()
        params, errors = parse_query(scope.get("query_string", b""))
        authorization = next((v for k, v in scope.get("headers", ()) if k == b"authorization"), b"")
        token = bearer(authorization.decode("latin-1")) or params.get("token", "")
        client = scope.get("client")
        verdict = service.pbx_tokens.check(token, client[0] if client else "")
        if verdict.pbx is None:
            challenge = [*self.json, (b"www-authenticate", b"Bearer")] if verdict.status == 401 else self.json
            await _respond(send, verdict.status, challenge, _encode({"detail": verdict.detail}))
            return
        if errors:
            await _respond(send, 422, self.json, _encode({"detail": errors}))
            return
        account, destination = params["account"], params["destination"]
        decision = service.authorize(account, destination)
        if params["format"] == "text":
            await _respond(send, 200, self.text, b"allow" if decision.allow else b"deny")
            return
        record = {"account": account, "destination": destination, **decision.to_json()}
        await _respond(send, 200, self.json, _encode(record))


class AuthorizeFirst:
    """ASGI middleware answering `GET {path}` with AuthorizeEndpoint before the rest of the stack.

    Inside the console the request would otherwise pass the console's HTTP middlewares (login check,
    security headers; each a BaseHTTPMiddleware), its exception middleware and the router: ~260 µs of
    CPU a request against ~6 µs for the endpoint itself (in-process ASGI calls, 2026-11-25), time the
    PBX waits for. Add it as the outermost middleware but inside ProxyHeadersMiddleware, which must
    still name the client (the loopback rule depends on it). Other methods and paths go to `app`.
    """

    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        path: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.app = app
        self.path = path
        self.endpoint = AuthorizeEndpoint(headers)  # e.g. the console's security headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path and scope["method"] == "GET":
            await self.endpoint(scope, receive, send)
            return
        await self.app(scope, receive, send)
