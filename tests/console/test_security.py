"""Security properties the issue asks for: lockout, rate limit, CSRF, expiry, roles, audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from phonewarden.console.models import ConsoleAudit, ConsoleSession, ConsoleUser
from phonewarden.console.policy import Role
from phonewarden.shield.bans import BanStore
from phonewarden.store.engine import session_factory
from tests.console.conftest import console, csrf_of, enrolled, log_in


def _audit(client: TestClient) -> list[tuple[str, str, str, str]]:
    with session_factory(console(client).engine)() as session:
        rows = session.execute(
            select(ConsoleAudit.actor, ConsoleAudit.action, ConsoleAudit.target, ConsoleAudit.outcome)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_brute_force_locks_the_account_even_for_the_right_password(client: TestClient) -> None:
    operator = enrolled(client, "erin")
    policy = console(client).policy
    for _ in range(policy.lock_after):
        assert (
            client.post("/login", data={"name": "erin", "password": "not-the-password!"}).status_code == 401
        )
    locked = client.post("/login", data={"name": "erin", "password": operator.password})
    assert locked.status_code == 401 and "locked for" in locked.text
    assert ("anonymous", "login", "erin", "denied") in _audit(client)
    # Back-off doubles with each further failure once the lock has passed.
    with session_factory(console(client).engine).begin() as session:
        session.execute(update(ConsoleUser).values(locked_until=datetime.now(UTC) - timedelta(seconds=1)))
    client.post("/login", data={"name": "erin", "password": "still-wrong-password"})
    with session_factory(console(client).engine)() as session:
        user = session.scalars(select(ConsoleUser)).one()
    assert user.locked_until is not None
    left = (user.locked_until - datetime.now(UTC)).total_seconds()
    assert policy.lock_base_s * 2 - 5 < left <= policy.lock_base_s * 2


def test_login_attempts_are_rate_limited_per_address(client: TestClient) -> None:
    console(client).policy.login_burst = 3
    console(client).login_limiter.capacity = 3
    answers = [client.post("/login", data={"name": f"x{i}", "password": "p"}).status_code for i in range(5)]
    assert answers == [401, 401, 401, 429, 429]


def test_post_without_csrf_token_is_rejected(client: TestClient) -> None:
    operator = enrolled(client, "frank")
    csrf = log_in(client, operator)
    assert client.post("/tokens", data={"name": "ci", "role": "viewer"}).status_code == 403
    assert client.post("/tokens", data={"name": "ci", "role": "viewer", "csrf": "forged"}).status_code == 403
    assert client.post("/logout").status_code == 403
    assert client.post("/tokens", data={"name": "ci", "role": "viewer", "csrf": csrf}).status_code == 200


def test_idle_and_absolute_timeouts_end_the_session(client: TestClient) -> None:
    operator = enrolled(client, "grace")
    log_in(client, operator)
    assert client.get("/overview").status_code == 200
    with session_factory(console(client).engine).begin() as session:
        session.execute(update(ConsoleSession).values(last_seen_at=datetime.now(UTC) - timedelta(minutes=16)))
    assert client.get("/overview").url.path == "/login"
    log_in(client, operator)
    with session_factory(console(client).engine).begin() as session:
        session.execute(update(ConsoleSession).values(created_at=datetime.now(UTC) - timedelta(hours=9)))
    assert client.get("/overview").url.path == "/login"


def test_viewer_cannot_unban_but_operator_can_and_both_are_audited(client: TestClient) -> None:
    viewer, operator = enrolled(client, "heidi", Role.VIEWER), enrolled(client, "ivan", Role.OPERATOR)
    bans = BanStore(console(client).engine)
    bans.save_ban("203.0.113.9", 600, ["scanner:sipvicious"], 1)
    csrf = log_in(client, viewer)
    assert "Unban" not in client.get("/lists/bans").text
    refused = client.post("/lists/bans/203.0.113.9/unban", data={"csrf": csrf})
    assert refused.status_code == 403 and "operator role" in refused.text
    assert [row.address for row in bans.active_bans()] == ["203.0.113.9"]
    client.post("/logout", data={"csrf": csrf})
    client.cookies.clear()
    csrf = log_in(client, operator)
    page = client.get("/lists/bans")
    assert "Unban" in page.text
    client.post("/lists/bans/203.0.113.9/unban", data={"csrf": csrf_of(page.text)})
    assert bans.active_bans() == []
    trail = _audit(client)
    assert ("heidi", "access", "/lists/bans/203.0.113.9/unban", "denied") in trail
    assert ("ivan", "shield.unban", "203.0.113.9", "ok") in trail


def test_operator_unbans_an_ipv6_network_from_the_list(client: TestClient) -> None:
    bans = BanStore(console(client).engine)
    bans.save_ban("2001:db8:66::/64", 600, ["enumeration"], 1)
    csrf = log_in(client, enrolled(client, "lena", Role.OPERATOR))
    answer = client.post("/lists/bans/2001:db8:66::/64/unban", data={"csrf": csrf})
    assert answer.status_code in (200, 303)
    assert bans.active_bans() == []
    assert ("lena", "shield.unban", "2001:db8:66::/64", "ok") in _audit(client)


def test_audit_log_page_is_for_admins_and_records_who_from_where(client: TestClient) -> None:
    admin, viewer = enrolled(client, "judy"), enrolled(client, "ken", Role.VIEWER)
    log_in(client, viewer)
    assert client.get("/audit-log").status_code == 403
    client.cookies.clear()
    log_in(client, admin)
    page = client.get("/audit-log")
    assert page.status_code == 200
    assert "user.enrol" in page.text and "testclient" in page.text and "ken" in page.text


def test_security_headers_on_pages(client: TestClient) -> None:
    page = client.get("/login")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
