"""`phonewarden demo` fills the fraud guard's pages: run into a console that is already up (as an operator
would, with `serve` running), then every fraud page, the overview tile and the API show the sample."""

from __future__ import annotations

import html
import json
import random
import re
import time
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from phonewarden.cli import app
from phonewarden.console.policy import Role
from phonewarden.fraud import demo
from phonewarden.fraud.models import FraudAudit
from phonewarden.fraud.service import get_service
from phonewarden.store.engine import make_engine, session_factory
from phonewarden.store.migrate import upgrade
from tests.console import conftest as console_fixtures
from tests.console.conftest import enrolled, log_in

cheap_argon2 = console_fixtures.cheap_argon2
settings = console_fixtures.settings
client = console_fixtures.client


def test_demo_into_a_running_console_fills_every_fraud_page(client: TestClient) -> None:
    assert get_service().restrictions() == []
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    line = re.search(
        r"\nfraud: (\d+) CDRs of 4 accounts over 21 days, (\d+) alerts, (\d+) restrictions", result.output
    )
    assert line, result.output
    log_in(client, enrolled(client, "vera", Role.VIEWER))

    # The running service picks up the restriction the demo process stored (no restart).
    restrictions = client.get("/fraud/restrictions")
    assert 'data-account="pjsip/1004"' in restrictions.text and "2 (only national)" in restrictions.text
    assert get_service().engine.book.level("pjsip/1004", time.time()) == 2

    accounts = client.get("/fraud/accounts")
    listed = re.findall(r'class="account" data-account="([^"]+)"', accounts.text)
    assert listed[0] == "pjsip/1004" and set(listed) == {"pjsip/1004", "hq-sales", "hq-support", "branch-7"}

    page = client.get("/fraud/accounts/pjsip/1004")
    assert page.status_code == 200
    found = re.search(r'data-series="([^"]+)"', page.text)
    assert found, page.text
    chart = json.loads(html.unescape(found.group(1)))
    assert len(chart["hours"]) == 7 * 24 and sum(chart["calls"]) > 0
    assert any(value is not None for value in chart["upper"])  # learned from the two weeks before
    body = page.text[page.text.index("<h2>Alerts") :]
    assert "<td>spend-limit</td><td>critical</td>" in body and "pbx.example.net, " in body  # recent calls
    assert re.search(r"<td>lift</td><td>0</td><td></td>\s*<td>alice</td>", page.text), page.text

    alerts = client.get("/fraud/alerts")
    assert 'data-account="pjsip/1004"' in alerts.text and 'id="recent-alerts"' in alerts.text
    overview = client.get("/overview")
    tile = re.search(r'id="tile-fraud".*?class="number">(\d+)<', overview.text, re.S)
    assert tile and int(tile.group(1)) >= 1

    api = client.get("/api/v1/fraud/accounts").json()
    assert api[0]["account"] == "pjsip/1004" and api[0]["level"] == 2
    series = client.get("/api/v1/fraud/accounts/hq-sales/series").json()
    assert series["baseline_from"] == "store" and sum(series["calls"]) > 0


def test_the_sample_is_the_services_own_output(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/demo.db")
    upgrade(engine)
    now = datetime.now(UTC)
    line = demo.load(engine, random.Random(8), now)
    assert "4 accounts over 21 days" in line and "(1 active)" in line
    with session_factory(engine)() as session:
        audit = list(session.scalars(select(FraudAudit).order_by(FraudAudit.time)))
    actions = [(row.action, row.actor) for row in audit]
    assert actions[:2] == [("restrict", "phonewarden"), ("lift", "alice")] and actions[-1][0] == "restrict"
    assert audit[-1].until is not None and audit[-1].until > now  # still active
    engine.dispose()
