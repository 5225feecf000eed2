"""Guard APIs and /metrics behind the console's auth: setup mode, API tokens with roles, revocation."""

from __future__ import annotations

from fastapi.testclient import TestClient

from phonewarden.console.policy import Role
from phonewarden.settings import Settings
from phonewarden.shield.bans import BanStore
from tests.console.api_tokens import audit_rows, bearer
from tests.console.conftest import console, csrf_of, enrolled, log_in


def _token(client: TestClient, role: str) -> str:
    page = client.get("/tokens")
    made = client.post("/tokens", data={"csrf": csrf_of(page.text), "name": f"{role}-script", "role": role})
    assert made.status_code == 200, made.text
    return made.text.split('id="new-token">')[1].split("<")[0]


def test_setup_mode_lets_loopback_read_the_api_until_the_first_operator_exists(client: TestClient) -> None:
    assert client.get("/api/v1/shield/bans").status_code == 200
    enrolled(client, "alice")
    response = client.get("/api/v1/shield/bans")
    assert response.status_code == 401 and "Bearer" in response.json()["detail"]


def test_api_tokens_carry_roles_and_can_be_revoked(client: TestClient) -> None:
    enrolled(client, "alice")
    operator = enrolled(client, "olga", Role.OPERATOR)
    log_in(client, operator)
    viewer_token, operator_token = _token(client, "viewer"), _token(client, "operator")
    # An operator cannot mint an admin token.
    page = client.get("/tokens")
    assert (
        client.post("/tokens", data={"csrf": csrf_of(page.text), "name": "x", "role": "admin"}).status_code
        == 403
    )
    client.cookies.clear()
    BanStore(console(client).engine).save_ban("203.0.113.7", 600, ["flood:invite"], 1)
    as_viewer = {"authorization": f"Bearer {viewer_token}"}
    bans = client.get("/api/v1/shield/bans", headers=as_viewer)
    assert bans.status_code == 200 and bans.json()["bans"][0]["address"] == "203.0.113.7"
    assert client.get("/metrics", headers=as_viewer).status_code == 200
    # A change needs operator: the viewer token is refused, the operator token gets through auth.
    lift = "/api/v1/fraud/restrictions/1001/lift"
    assert client.post(lift, headers=as_viewer).status_code == 403
    assert client.post(lift, headers={"authorization": f"Bearer {operator_token}"}).status_code != 403
    # Token stored only as a digest; revoking it ends its use.
    row = console(client).tokens.of_user(2)[0]
    assert viewer_token not in (row.token_hash, row.prefix) and row.last_used_at is not None
    csrf = log_in(client, operator)
    client.post(f"/tokens/{row.id}/revoke", data={"csrf": csrf})
    client.cookies.clear()
    assert client.get("/api/v1/shield/bans", headers=as_viewer).status_code == 401
    assert (
        client.get("/api/v1/shield/bans", headers={"authorization": "Bearer pwt_forged"}).status_code == 401
    )


def test_fraud_cdr_push_keeps_its_own_token_check(client: TestClient) -> None:
    enrolled(client, "alice")
    # Not 401 from the console: the fraud guard answers for /cdr itself (here: a body it rejects).
    assert client.post("/api/v1/fraud/cdr", content=b"{}").status_code != 401


def test_metrics_in_prometheus_text_format(client: TestClient) -> None:
    BanStore(console(client).engine).save_ban("203.0.113.8", 600, ["scanner:sipvicious"], 1)
    text = client.get("/metrics").text
    assert "# TYPE phonewarden_active_bans gauge" in text
    assert "phonewarden_active_bans 1.0" in text
    for name in (
        "phonewarden_hep_packets",
        "phonewarden_records",
        "phonewarden_findings",
        "phonewarden_evictions",
    ):
        assert f"# HELP {name}" in text


def test_setup_mode_refuses_clients_from_elsewhere(settings: Settings) -> None:
    from phonewarden.console.app import create_app

    with TestClient(create_app(settings, start_hep=False), client=("198.51.100.9", 40000)) as remote:
        refused = remote.get("/api/v1/shield/bans")
    assert refused.status_code == 503 and "admin create" in refused.json()["detail"]


def test_setup_mode_lets_loopback_read_but_not_change(client: TestClient) -> None:
    """Before the first operator exists nobody could be named in the audit log, so no change goes through."""
    assert client.get("/api/v1/privacy/devices").status_code == 200
    refused = client.post("/api/v1/privacy/devices", json={"name": "desk", "ip": "198.51.100.20"})
    assert refused.status_code == 503 and "phonewarden admin create" in refused.json()["detail"]
    assert client.delete("/api/v1/shield/bans/203.0.113.9").status_code == 503
    assert client.get("/api/v1/privacy/devices").json() == []
    assert audit_rows(console(client)) == []


def test_every_api_change_is_in_the_audit_log(client: TestClient) -> None:
    ctx = console(client)
    olga = bearer(ctx, "olga", Role.OPERATOR)
    created = client.post(
        "/api/v1/privacy/devices", json={"name": "desk", "ip": "198.51.100.20"}, headers=olga
    )
    assert created.status_code == 201, created.text
    assert client.delete("/api/v1/privacy/devices/desk", headers=olga).status_code == 204
    assert client.delete("/api/v1/privacy/devices/desk", headers=olga).status_code == 404
    banned = client.post(
        "/api/v1/shield/bans", json={"address": "203.0.113.9", "minutes": 5, "reason": "probe"}, headers=olga
    )
    assert banned.status_code == 201, banned.text
    client.get("/api/v1/shield/bans", headers=olga)  # reads are not logged
    rows = audit_rows(ctx)
    assert [(r["actor"], r["action"], r["target"], r["outcome"]) for r in rows] == [
        ("olga", "api.POST", "/api/v1/privacy/devices", "ok"),
        ("olga", "api.DELETE", "/api/v1/privacy/devices/desk", "ok"),
        ("olga", "api.DELETE", "/api/v1/privacy/devices/desk", "failed"),
        ("olga", "api.POST", "/api/v1/shield/bans", "ok"),
    ]
    assert {r["source"] for r in rows} == {"testclient"}
    assert rows[2]["detail"]["status"] == 404 and rows[3]["detail"]["address"] == "203.0.113.9"


def test_the_audit_log_names_the_principal_whatever_a_route_takes_as_actor(client: TestClient) -> None:
    """fraud's ack and lift take `actor` from the query string; the log takes the token's owner."""
    ctx = console(client)
    olga = bearer(ctx, "olga", Role.OPERATOR)
    client.post("/api/v1/fraud/accounts/1001/ack", params={"actor": "mallory"}, headers=olga)
    client.post("/api/v1/fraud/restrictions/1001/lift", params={"actor": "mallory"}, headers=olga)
    client.post("/api/v1/fraud/cdr", content=b"{}")  # the PBX's own trail, not the console's
    rows = audit_rows(ctx)
    assert [(r["actor"], r["action"], r["target"]) for r in rows] == [
        ("olga", "api.POST", "/api/v1/fraud/accounts/1001/ack"),
        ("olga", "api.POST", "/api/v1/fraud/restrictions/1001/lift"),
    ]
    assert rows[1]["outcome"] == "failed"  # 1001 has no restriction to lift


def test_a_refused_role_is_audited_once(client: TestClient) -> None:
    ctx = console(client)
    bearer(ctx, "alice", Role.ADMIN)
    vera = bearer(ctx, "vera", Role.VIEWER)
    assert client.post("/api/v1/shield/bans", json={}, headers=vera).status_code == 403
    denied = audit_rows(ctx, "")
    assert [(r["actor"], r["action"], r["outcome"]) for r in denied if r["actor"] == "vera"] == [
        ("vera", "access", "denied")
    ]
