"""GET /api/v1/findings: every guard's findings through the console, filtered and paged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from phonewarden.console.policy import Role
from phonewarden.store.engine import session_factory
from phonewarden.store.models import Finding, Guard, Severity
from tests.console.api_tokens import bearer
from tests.console.conftest import console

START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def _store_findings(client: TestClient) -> None:
    """Minute i: shield scans from 203.0.113.(i % 5), every third a high fraud finding on acct-7."""
    with session_factory(console(client).engine).begin() as session:
        for minute in range(30):
            fraud = minute % 3 == 0
            session.add(
                Finding(
                    time=START + timedelta(minutes=minute),
                    guard=Guard.FRAUD if fraud else Guard.SHIELD,
                    kind="toll_fraud" if fraud else "scan",
                    subject="acct-7" if fraud else f"203.0.113.{minute % 5}",
                    severity=Severity.HIGH if fraud else Severity.MEDIUM,
                    reason=f"finding {minute}",
                    evidence={"minute": minute},
                )
            )


def _walk(client: TestClient, params: dict[str, str], headers: dict[str, str]) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    response = client.get("/api/v1/findings", params=params, headers=headers)
    while True:
        assert response.status_code == 200, response.text
        found += response.json()
        if "next" not in response.links:
            return found
        response = client.get(response.links["next"]["url"], headers=headers)


def test_findings_newest_first_in_pages(client: TestClient) -> None:
    _store_findings(client)
    vera = bearer(console(client), "vera", Role.VIEWER)
    first = client.get("/api/v1/findings", params={"limit": 7}, headers=vera)
    assert [f["reason"] for f in first.json()] == [f"finding {m}" for m in range(29, 22, -1)]
    assert first.json()[0] == {
        "id": 30, "time": "2026-11-25T10:29:00Z", "guard": "shield", "kind": "scan",
        "subject": "203.0.113.4", "severity": "medium", "reason": "finding 29", "evidence": {"minute": 29},
    }  # fmt: skip
    every = _walk(client, {"limit": "7"}, vera)
    assert [f["evidence"] for f in every] == [{"minute": m} for m in range(29, -1, -1)]


def test_findings_filters(client: TestClient) -> None:
    _store_findings(client)
    vera = bearer(console(client), "vera", Role.VIEWER)

    def minutes(**params: str) -> list[object]:
        return [f["evidence"]["minute"] for f in _walk(client, {"limit": "4", **params}, vera)]  # type: ignore[index]

    assert minutes(guard="fraud") == list(range(27, -1, -3))
    assert minutes(severity="high") == minutes(kind="toll_fraud") == minutes(subject="acct-7")
    assert minutes(subject="203.0.113.2") == [22, 17, 7, 2]
    assert minutes(since="2026-11-25T10:25:00Z") == [29, 28, 27, 26, 25]
    assert minutes(until="2026-11-25T11:03:00+01:00") == [2, 1, 0]
    assert minutes(guard="shield", since="2026-11-25T10:20:00Z", until="2026-11-25T10:24:00Z") == [23, 22, 20]
    assert minutes(guard="privacy") == []


def test_findings_bad_filters_are_named(client: TestClient) -> None:
    vera = bearer(console(client), "vera", Role.VIEWER)
    for params, named in (
        ({"guard": "firewall"}, "guard"),
        ({"severity": "urgent"}, "severity"),
        ({"since": "2026-11-25T10:00:00"}, "since"),  # no time zone: which 10:00?
        ({"until": "yesterday"}, "until"),
    ):
        response = client.get("/api/v1/findings", params=params, headers=vera)
        assert response.status_code == 422 and named in str(response.json()["detail"]), (
            params,
            response.text,
        )


def test_findings_need_a_viewer_once_an_operator_exists(client: TestClient) -> None:
    bearer(console(client), "alice", Role.ADMIN)
    assert client.get("/api/v1/findings").status_code == 401
