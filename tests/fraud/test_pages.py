"""The fraud pages through the real console app: accounts and one account's page, restrictions with lift,
open alerts with acknowledge; roles, CSRF and the audit log."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from phonewarden.console.models import ConsoleAudit
from phonewarden.console.policy import Role
from phonewarden.fraud import pages
from phonewarden.fraud.cdr import Cdr
from phonewarden.fraud.records import Alert, Restriction
from phonewarden.fraud.service import FraudService, get_service
from phonewarden.store.engine import session_factory
from phonewarden.store.findings import add_finding
from phonewarden.store.models import Guard, Severity
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


def _accounts(html: str) -> list[str]:
    return re.findall(r'class="account" data-account="([^"]+)"', html)


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


def test_accounts_worst_first_paged_and_one_accounts_page(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, now = get_service(), time.time()
    calls = [
        Cdr(
            account=f"acct-{i:02d}", destination="0305550012", start=now - 700, end=now - 600 + i, billsec=100
        )
        for i in range(60)
    ]
    calls.append(Cdr(account="acct/7", destination="0088213456789", start=now - 400, end=now, billsec=360,
                     call_id="sat-1@pbx.example.net"))  # fmt: skip
    service.ingest(calls)  # the satellite call breaks the 5-minute limit: level 2
    log_in(client, enrolled(client, "vera", Role.VIEWER))
    whole = _accounts(client.get("/fraud/accounts").text)
    assert len(whole) == 61 and whole[:3] == ["acct/7", "acct-00", "acct-01"] and whole[-1] == "acct-59"
    monkeypatch.setattr(pages, "PER_PAGE", 25)
    walked, url, visits = [], "/fraud/accounts", 0
    while url:  # the next link walks the list in order, each account once
        page = client.get(url)
        listed = _accounts(page.text)
        assert page.status_code == 200 and 0 < len(listed) <= 25
        walked += listed
        link = re.search(r'id="next" href="([^"]+)"', page.text)
        url, visits = unescape(link.group(1)) if link else "", visits + 1
    assert walked == whole and visits == 3
    foreign = client.get("/fraud/accounts", params={"before": "bm90IGEgY3Vyc29y"})
    assert foreign.status_code == 422 and "before" in foreign.text

    detail = client.get("/fraud/accounts/acct/7")  # the account name holds a "/"
    assert detail.status_code == 200 and 'id="fraud-chart"' in detail.text
    assert '<script src="/static/fraud_account.js" defer></script>' in detail.text  # no inline script: CSP
    assert "<td>spend-limit</td><td>critical</td>" in detail.text and "sat-1@pbx.example.net" in detail.text
    assert re.search(r"<td>restrict</td><td>2</td><td>\d{4}-", detail.text), "restriction with its until"
    assert client.get("/static/fraud_account.js").status_code == 200
    missing = client.get("/fraud/accounts/nobody")
    assert missing.status_code == 404 and "nobody" in missing.text


def test_stored_open_alert_is_listed_and_acknowledged(client: TestClient) -> None:
    with session_factory(console(client).engine).begin() as session:
        add_finding(session, time=datetime.now(UTC) - timedelta(minutes=5), guard=Guard.FRAUD,
                    kind="number-range", subject="acct-s", severity=Severity.HIGH,
                    reason="40 different numbers in +25261234xxx")  # fmt: skip
    operator = enrolled(client, "otto", Role.OPERATOR)
    csrf = log_in(client, operator)
    page = client.get("/fraud/alerts")
    assert 'data-account="acct-s"' in page.text and "40 different numbers" in page.text
    done = client.post("/fraud/alerts/ack", data={"csrf": csrf, "account": "acct-s"})
    assert done.url.path == "/fraud/alerts" and 'data-account="acct-s"' not in done.text
    assert 'id="recent-alerts"' in done.text and "40 different numbers" in done.text  # history stays


def test_operator_lifts_a_number_block_from_its_row(client: TestClient) -> None:
    _seed(get_service())
    viewer = enrolled(client, "vera", Role.VIEWER)
    viewer_csrf = log_in(client, viewer)
    refused = client.post(
        "/fraud/restrictions/unblock", data={"csrf": viewer_csrf, "destination": "+25261234567"}
    )
    assert refused.status_code == 403 and "25261234567" in get_service().engine.book.destinations
    client.cookies.clear()
    log_in(client, enrolled(client, "otto", Role.OPERATOR))
    page = client.get("/fraud/restrictions")
    csrf = csrf_of(page.text)
    form = re.search(
        r'action="/fraud/restrictions/unblock">\s*<input[^>]+>\s*<input[^>]+value="([^"]+)"', page.text
    )
    assert form is not None and form.group(1) == "+25261234567"  # the number block's row has its Lift button
    done = client.post("/fraud/restrictions/unblock", data={"csrf": csrf, "destination": form.group(1)})
    assert done.url.path == "/fraud/restrictions" and "Lifted the restriction of +25261234567" in done.text
    assert "number +25261234567 blocked" not in done.text
    assert not get_service().authorize("anyone", "+25261234567").reason.startswith("destination")
    assert get_service().engine.book.level("acct/7", time.time()) == 2  # the account's restriction stays
    again = client.post("/fraud/restrictions/unblock", data={"csrf": csrf, "destination": "+25261234567"})
    assert again.status_code == 404 and "is not blocked" in again.text
    bad = client.post("/fraud/restrictions/unblock", data={"csrf": csrf, "destination": "+2526x"})
    assert bad.status_code == 422 and "E.164" in bad.text
    assert ("otto", "fraud.lift", "+25261234567", "ok") in _audit(client)
