"""/alerts/outbox through the real console app: entries per target with attempts, next try and last error,
dead letters, "retry now" for operators only (CSRF, audit log)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from phonewarden.alerts import routing
from phonewarden.alerts.outbox import Entry, Outbox
from phonewarden.alerts.settings import AlertSettings
from phonewarden.alerts.targets.webhook import WebhookTarget
from phonewarden.console.models import ConsoleAudit
from phonewarden.console.policy import Role
from phonewarden.settings import Settings
from phonewarden.store.engine import session_factory
from phonewarden.store.migrate import upgrade
from tests.console import conftest as console_fixtures
from tests.console.conftest import console, csrf_of, enrolled, log_in

cheap_argon2 = console_fixtures.cheap_argon2
client = console_fixtures.client
DOWN = "http://127.0.0.1:9/hook"  # nothing answers: connection refused
ALERT = {"type": "alert", "guard": "fraud", "severity": "high", "account": "acme", "reason": "spent EUR 48"}


@pytest.fixture
def settings(clean_env: Path) -> Settings:
    chat = {"type": "webhook", "url": DOWN, "secret": "0123456789abcdef-secret", "timeout_s": 2}
    alerts = AlertSettings.model_validate({"targets": {"chat": chat}, "retry_first_s": 3600})
    settings = Settings(data_dir=clean_env / "var", alerts=alerts)
    upgrade(settings.database_url)
    return settings


def _stale(settings: Settings) -> tuple[Entry, Entry]:
    """A target removed from the settings: one entry that failed twice, one set aside as a dead letter."""
    now = [1_700_000_000.0]
    folder = routing.outbox_root(settings.data_dir) / "old-pager"
    target = WebhookTarget(DOWN, b"k", timeout=2, name="old-pager")
    outbox = Outbox(folder, target, retry_first_s=60, dead_letter_days=1, clock=lambda: now[0])
    dead = outbox.add({**ALERT, "account": "gone"})
    outbox.deliver_due()
    now[0] += 86400
    waiting = outbox.add(ALERT)
    outbox.deliver_due()  # buries the first, then fails the second
    now[0] += 60
    outbox.deliver_due()
    ((entry,), (letter,)) = outbox.pending(), outbox.dead_letters()
    assert (entry.id, letter.id) == (waiting.id, dead.id)
    return entry, letter


def _audit(http: TestClient) -> list[tuple[str, str, str, str]]:
    with session_factory(console(http).engine)() as session:
        rows = session.execute(
            select(ConsoleAudit.actor, ConsoleAudit.action, ConsoleAudit.target, ConsoleAudit.outcome)
        )
        return [(row[0], row[1], row[2], row[3]) for row in rows if row[1].startswith("alerts.")]


def test_viewer_sees_entries_per_target_but_cannot_retry(client: TestClient, settings: Settings) -> None:
    entry, letter = _stale(settings)
    viewer = enrolled(client, "vera", Role.VIEWER)
    csrf = log_in(client, viewer)
    page = client.get("/alerts/outbox")
    assert page.status_code == 200
    assert 'data-target="chat"' in page.text  # configured, running, empty
    assert "old-pager <span" in page.text and "(not configured now)" in page.text
    assert f'data-entry="{entry.id}"' in page.text and "acme: spent EUR 48" in page.text
    assert "Connection refused" in page.text and '<td class="attempts">2</td>' in page.text
    assert f'class="entry dead" data-entry="{letter.id}"' in page.text and "only on request" in page.text
    assert "Retry now</button>" not in page.text
    refused = client.post(
        "/alerts/outbox/retry", data={"csrf": csrf, "target": "old-pager", "entry": letter.id}
    )
    assert refused.status_code == 403
    assert [
        e.id for e in Outbox(routing.outbox_root(settings.data_dir) / "old-pager", None).dead_letters()
    ] == [letter.id]


def test_operator_retries_with_csrf_and_audit(client: TestClient, settings: Settings) -> None:
    entry, letter = _stale(settings)
    operator = enrolled(client, "otto", Role.OPERATOR)
    log_in(client, operator)
    page = client.get("/alerts/outbox")
    csrf = csrf_of(page.text)
    assert "Retry now</button>" in page.text
    form = {"target": "old-pager", "entry": letter.id}
    assert client.post("/alerts/outbox/retry", data=form).status_code == 403  # no CSRF token
    done = client.post("/alerts/outbox/retry", data={**form, "csrf": csrf})
    assert done.url.path == "/alerts/outbox" and f"Entry {letter.id} will be tried now" in done.text
    outbox = Outbox(routing.outbox_root(settings.data_dir) / "old-pager", None)
    assert outbox.dead_letters() == [] and sorted(e.id for e in outbox.pending()) == sorted(
        [entry.id, letter.id]
    )
    gone = client.post(
        "/alerts/outbox/retry", data={**form, "entry": "00000000000000000001-deadbeef", "csrf": csrf}
    )
    assert gone.status_code == 404 and "has no entry" in gone.text
    bad = client.post("/alerts/outbox/retry", data={**form, "target": "../var", "csrf": csrf})
    assert bad.status_code == 422
    assert _audit(client) == [
        ("otto", "alerts.retry", f"old-pager/{letter.id}", "ok"),
        ("otto", "alerts.retry", "old-pager/00000000000000000001-deadbeef", "failed"),
    ]


def test_the_running_router_queues_guard_alerts_for_the_page(client: TestClient, settings: Settings) -> None:
    router = routing.running(settings.data_dir)
    assert router is not None and router.submit(ALERT) == ["chat"]
    operator = enrolled(client, "olga", Role.OPERATOR)
    log_in(client, operator)
    (entry,) = router.outboxes["chat"].pending()
    page = client.get("/alerts/outbox")
    assert f'data-entry="{entry.id}"' in page.text and "acme: spent EUR 48" in page.text
