"""The bare ASGI authorize endpoint, for real over HTTP on uvicorn's httptools parser and uvloop."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.fraud import service as service_module
from phonewarden.fraud.api import router
from phonewarden.fraud.authorize_http import parse_query
from phonewarden.fraud.records import Restriction
from phonewarden.fraud.settings import FraudSettings
from tests.conftest import served


@pytest.fixture
def url() -> Iterator[str]:
    service = service_module.get_service(FraudSettings())
    now = time.time()
    restriction = Restriction(time=now, account="blocked", level=1, until=now + 3600, reason="test")
    service.engine.book.apply(restriction)
    app = FastAPI()
    app.include_router(router, prefix="/api/v1/fraud")
    with served(app, http="httptools", loop="uvloop") as base:  # as the docs advise for the PBX path
        yield f"{base}/api/v1/fraud/authorize"


def test_text_and_json_answers(url: str) -> None:
    international = {"account": "blocked", "destination": "0025261234567"}
    with httpx.Client(timeout=5) as client:
        text = client.get(url, params={**international, "format": "text"})
        assert (text.status_code, text.text, text.headers["content-type"]) == (
            200,
            "deny",
            "text/plain; charset=utf-8",
        )
        assert (
            client.get(url, params={"account": "blocked", "destination": "030123456", "format": "text"}).text
            == "allow"
        )
        body = client.get(url, params=international).json()
        assert body["decision"] == "deny" and body["level"] == 1 and body["account"] == "blocked"
        assert "international blocked" in body["reason"] or "level 1" in body["reason"]
        bad = client.get(url, params={"account": "a", "destination": "1", "format": "xml"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "format"]


def test_missing_and_too_long_parameters_are_named() -> None:
    _, errors = parse_query(b"account=&format=text")
    assert [(e["loc"][1], e["type"]) for e in errors] == [
        ("account", "string_length"),
        ("destination", "missing"),
    ]
    params, errors = parse_query(b"account=a%20b&destination=%2B4930123")
    assert errors == [] and params == {"account": "a b", "destination": "+4930123", "format": "json"}
    _, errors = parse_query(b"account=a&destination=" + b"1" * 65)
    assert errors[0]["loc"] == ["query", "destination"]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_any_query_string_gives_params_or_errors(query: bytes) -> None:
    params, errors = parse_query(query)
    assert errors or (1 <= len(params["account"]) <= 255 and params["format"] in ("json", "text"))


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.sampled_from(["account", "destination", "format", "=", "&", "a", "1", "%2B", "+", ";", ""]))
)
def test_the_fast_query_split_gives_what_parse_qsl_gives(parts: list[str]) -> None:
    from urllib.parse import parse_qsl

    query = "".join(parts)
    params, _ = parse_query(query.encode())
    expected = dict(parse_qsl(query, keep_blank_values=True))
    expected.setdefault("format", "json")
    assert params == expected


def test_authorize_first_answers_before_the_middleware_stack_and_passes_the_rest() -> None:
    from fastapi import Request
    from fastapi.testclient import TestClient

    from phonewarden.fraud.authorize_http import AuthorizeFirst

    service = service_module.get_service(FraudSettings())
    now = time.time()
    service.engine.book.apply(Restriction(time=now, account="held", level=3, until=now + 60, reason="t"))
    app = FastAPI()
    app.include_router(router, prefix="/api/v1/fraud")
    seen: list[str] = []

    @app.middleware("http")
    async def login_wall(request: Request, call_next: Any) -> Any:
        seen.append(request.url.path)  # the console's slow middlewares: must not see /authorize
        return await call_next(request)

    @app.get("/other")
    def other() -> dict[str, str]:
        return {"ok": "yes"}

    app.add_middleware(AuthorizeFirst, path="/api/v1/fraud/authorize", headers={"X-Frame-Options": "DENY"})
    with TestClient(app) as client:  # its client host "testclient" counts as loopback
        answer = client.get("/api/v1/fraud/authorize?format=text&account=held&destination=030123456")
        assert (answer.text, answer.headers["x-frame-options"]) == ("deny", "DENY")
        assert client.get("/other").json() == {"ok": "yes"}
        assert client.post("/api/v1/fraud/authorize").status_code == 405  # not GET: the app's answer
    assert seen == ["/other", "/api/v1/fraud/authorize"]
