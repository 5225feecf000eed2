"""CSRF by header for scripts with a session, none for bearer tokens; setup mode only for loopback."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from phonewarden.console.auth import is_loopback
from tests.console.conftest import csrf_of, enrolled, log_in


def test_csrf_token_may_come_as_a_header(client: TestClient) -> None:
    csrf = log_in(client, enrolled(client, "alice"))
    response = client.post("/tokens", data={"name": "ci", "role": "viewer"}, headers={"x-csrf-token": csrf})
    assert response.status_code == 200 and "new-token" in response.text


def test_bearer_requests_need_no_csrf_token(client: TestClient) -> None:
    log_in(client, enrolled(client, "bob"))
    page = client.get("/tokens")
    made = client.post("/tokens", data={"csrf": csrf_of(page.text), "name": "ops", "role": "operator"})
    token = made.text.split('id="new-token">')[1].split("<")[0]
    client.cookies.clear()
    response = client.post("/api/v1/fraud/accounts/1001/ack", headers={"authorization": f"Bearer {token}"})
    assert response.status_code not in (401, 403)


@pytest.mark.parametrize(
    ("address", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("testclient", True), ("198.51.100.1", False)],
)
def test_loopback_detection(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback
