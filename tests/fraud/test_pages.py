"""The fraud pages through the real console app: restrictions with lift, open alerts with acknowledge;
roles, CSRF and the audit log."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import select

from phonewarden.console.models import ConsoleAudit
from phonewarden.console.policy import Role
from phonewarden.fraud.records import Alert, Restriction
from phonewarden.fraud.service import FraudService, get_service
from phonewarden.store.engine import session_factory
from tests.console import conftest as console_fixtures
from tests.console.conftest import console, csrf_of, enrolled, log_in

# The console's fixtures (a migrated database, the app over HTTPS, cheap argon2), reused, not copied.
cheap_argon2 = console_fixtures.cheap_argon2
settings = console_fixtures.settings
client = console_fixtures.client


def _audit(http: TestClient) -> list[tuple[str, str, str, str]]:
    with session_factory(console(http).engine)() as session:
        rows = session.execute(
            select(ConsoleAudit.actor, ConsoleAudit.action, ConsoleAudit.target, ConsoleAudit.outcome)
        )
        return [(row[0], row[1], row[2], row[3]) for row in rows if row[1].startswith("fraud.")]


def _seed(service: FraudService) -> None:
    now = time.time()
    book = service.engine.book
    book.apply(Restriction(time=now, account="acct/7", level=2, until=now + 3600, reason="cost window"))
    book.apply(
        Restriction(
            time=now, account="*", level=0, until=now + 3600, reason="wangiri", destination="25261234567"
        )
    )
    alert = Alert(
        time=now, account="acct-9", detector="baseline", severity="high", reason="5x the usual hour"
    )
    service.engine.policy.acks.require("acct-9", {"alert": alert}, now)


def test_viewer_sees_but_cannot_lift_or_acknowledge(client: TestClient) -> None:
    _seed(get_service())
    viewer = enrolled(client, "vera", Role.VIEWER)
    csrf = log_in(client, viewer)
    page = client.get("/fraud/restrictions")
    assert page.status_code == 200 and 'data-account="acct/7"' in page.text
    assert "2 (only national)" in page.text and "number +25261234567 blocked" in page.text
    assert "Lift</button>" not in page.text and "Fraud alerts" in page.text  # nav entry
    alerts = client.get("/fraud/alerts")
    assert 'data-account="acct-9"' in alerts.text and "5x the usual hour" in alerts.text
    assert "Acknowledge</button>" not in alerts.text
    refused = client.post("/fraud/restrictions/lift", data={"csrf": csrf, "account": "acct/7"})
    assert refused.status_code == 403
    assert get_service().engine.book.level("acct/7", time.time()) == 2
    with session_factory(console(client).engine)() as session:
        denied = session.scalars(select(ConsoleAudit.target).where(ConsoleAudit.outcome == "denied"))
        assert "/fraud/restrictions/lift" in list(denied)


def test_operator_lifts_and_acknowledges_with_csrf_and_audit(client: TestClient) -> None:
    _seed(get_service())
    operator = enrolled(client, "otto", Role.OPERATOR)
    log_in(client, operator)
    page = client.get("/fraud/restrictions")
    csrf = csrf_of(page.text)
    assert "Lift</button>" in page.text
    no_csrf = client.post("/fraud/restrictions/lift", data={"account": "acct/7"})
    assert no_csrf.status_code == 403 and get_service().engine.book.level("acct/7", time.time()) == 2
    done = client.post("/fraud/restrictions/lift", data={"csrf": csrf, "account": "acct/7"})
    assert done.url.path == "/fraud/restrictions" and "Lifted the restriction of acct/7" in done.text
    assert get_service().engine.book.level("acct/7", time.time()) == 0
    again = client.post("/fraud/restrictions/lift", data={"csrf": csrf, "account": "acct/7"})
    assert again.status_code == 404 and "no active restriction" in again.text
    acked = client.post("/fraud/alerts/ack", data={"csrf": csrf, "account": "acct-9"})
    assert "Acknowledged the alert of acct-9" in acked.text and 'data-account="acct-9"' not in acked.text
    assert get_service().open_alerts() == []
    assert _audit(client) == [
        ("otto", "fraud.lift", "acct/7", "ok"),
        ("otto", "fraud.lift", "acct/7", "failed"),
        ("otto", "fraud.ack", "acct-9", "ok"),
    ]
