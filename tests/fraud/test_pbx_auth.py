"""PBX tokens: unit checks, then over real HTTP through the whole console with an operator existing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import event

from phonewarden.fraud.pbx_auth import PbxTokens, bearer, digest, new_token
from phonewarden.fraud.settings import FraudSettings, PbxToken
from tests.fraud.console_server import console_with_pbx_tokens

SOMALIA = "0025261234567"


def test_no_tokens_lets_only_loopback_in() -> None:
    book = PbxTokens([])
    assert book.check("", "127.0.0.1").pbx == "loopback"
    assert book.check("", "::1").pbx == "loopback"
    refused = book.check("anything", "198.51.100.7")
    assert (refused.pbx, refused.status) == (None, 403)


def test_tokens_name_the_pbx_and_loopback_needs_one_too() -> None:
    token, other = new_token(), new_token()
    book = PbxTokens([PbxToken(name="a", sha256=digest(token)), PbxToken(name="b", sha256=digest(other))])
    assert book.check(token, "198.51.100.7").pbx == "a"
    assert book.check(other, "127.0.0.1").pbx == "b"
    assert book.check("", "127.0.0.1").status == 401
    assert book.check(token + "x", "127.0.0.1").status == 401
    assert PbxTokens([], ["legacy"]).check("legacy", "203.0.113.9").pbx == "push_token"


def test_digest_is_sha256_hex_and_tokens_are_fresh() -> None:
    token = new_token()
    assert digest(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token != new_token() and len(token) > 40
    assert bearer("Bearer  abc ") == "abc" and bearer("Basic abc") == ""


def test_settings_name_bad_entries() -> None:
    with pytest.raises(ValidationError, match="sha256"):
        FraudSettings.model_validate({"pbx_tokens": [{"name": "a", "sha256": "not-hex"}]})
    with pytest.raises(ValidationError, match="distinct"):
        FraudSettings.model_validate(
            {"pbx_tokens": [{"name": "a", "sha256": "0" * 64}, {"name": "a", "sha256": "1" * 64}]}
        )


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.sampled_from(["127.0.0.1", "198.51.100.1", "", "::1", "junk"]))
def test_any_token_and_host_gives_a_verdict(token: str, host: str) -> None:
    verdict = PbxTokens([PbxToken(name="a", sha256="0" * 64)]).check(token, host)
    assert verdict.pbx is None and verdict.status == 401


def test_console_authorize_and_push_with_pbx_tokens(tmp_path: Path) -> None:
    with (
        console_with_pbx_tokens(tmp_path / "var", restricted="hacked") as console,
        httpx.Client(base_url=console.base, timeout=10) as http,
    ):
        authorize = "/api/v1/fraud/authorize"
        query = {"account": "hacked", "destination": SOMALIA, "format": "text"}
        header = {"Authorization": f"Bearer {console.token}"}
        assert http.get(authorize, params=query, headers=header).text == "deny"
        national = {**query, "destination": "030123456"}
        assert http.get(authorize, params=national, headers=header).text == "allow"
        other = {**query, "account": "honest", "token": console.other_token}  # ?token= works as well
        assert http.get(authorize, params=other).text == "allow"
        missing = http.get(authorize, params=query)
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert "missing PBX token" in missing.json()["detail"]
        wrong = http.get(authorize, params=query, headers={"Authorization": "Bearer pwpbx_wrong"})
        assert wrong.status_code == 401 and wrong.json()["detail"] == "wrong PBX token"
        # An operator's routes still need an operator: the exemption is exactly /authorize and /cdr.
        assert http.get("/api/v1/fraud/restrictions", headers=header).status_code == 401
        cdr = {
            "account": "1001",
            "destination": "030123456",
            "start": "2026-11-25T10:00:00Z",
            "answer": "2026-11-25T10:00:05Z",
            "end": "2026-11-25T10:01:05Z",
            "billsec": 60,
        }
        assert http.post("/api/v1/fraud/cdr", json=cdr).status_code == 401
        pushed = http.post("/api/v1/fraud/cdr", json=cdr, headers=header)
        assert pushed.status_code == 200 and pushed.json()["accepted"] == 1, pushed.text


def test_console_authorize_does_not_touch_the_console_database(tmp_path: Path) -> None:
    statements: list[str] = []
    with (
        console_with_pbx_tokens(tmp_path / "var", restricted="hacked") as console,
        httpx.Client(
            base_url=console.base, timeout=10, headers={"Authorization": f"Bearer {console.token}"}
        ) as http,
    ):
        event.listen(console.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        for _ in range(20):
            answer = http.get("/api/v1/fraud/authorize", params={"account": "a", "destination": SOMALIA})
            assert answer.json()["decision"] == "allow"
        by_authorize = [sql for sql in statements if "console_" in sql]
        http.get("/api/v1/fraud/restrictions")  # an operator route: the console looks the token up
        assert by_authorize == [] and any("console_" in sql for sql in statements)


def test_request_token_takes_bearer_basic_or_the_url_token_without_mod_json_cdr_tail() -> None:
    import base64

    from phonewarden.fraud.pbx_auth import basic_password, request_token

    basic = "Basic " + base64.b64encode(b"fs1:pwpbx_secret").decode()
    assert basic_password(basic) == "pwpbx_secret"
    assert basic_password("Basic !!notbase64") == "" and basic_password("Bearer x") == ""
    assert request_token(basic, None) == "pwpbx_secret"
    assert request_token("Bearer pwpbx_a", "pwpbx_b") == "pwpbx_a"
    assert request_token("", "pwpbx_b?uuid=3e1f2a4c-7d") == "pwpbx_b"
    assert request_token("", None) == ""
