"""Routing by guard, severity and kind (all-match, one delivery per target), the default rule, the fraud
guard's legacy alert_* route, and one router shared by the guards of a `serve`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from phonewarden.alerts import routing
from phonewarden.alerts.routing import AlertRouter, router_from_settings
from phonewarden.alerts.settings import AlertRule, AlertSettings
from phonewarden.alerts.targets.syslog import SyslogTarget
from phonewarden.alerts.targets.webhook import WebhookTarget, sign
from phonewarden.fraud.settings import FraudSettings
from phonewarden.settings import Settings
from tests.alerts.peers import Hook, webhook_receiver

SECRET = "0123456789abcdef-secret"
FRAUD = {"type": "alert", "guard": "fraud", "detector": "wangiri", "severity": "high", "account": "acme"}
BAN = {"type": "ban", "guard": "shield", "source": "203.0.113.7", "duration_s": 600}
LEAK = {"type": "leak", "guard": "privacy", "severity": "low", "device": "desk-1"}


@pytest.fixture
def hook() -> Iterator[Hook]:
    yield from webhook_receiver()


def _router(tmp_path: Path, rules: list[AlertRule]) -> AlertRouter:
    targets = {name: WebhookTarget("http://127.0.0.1:9/", b"k", name=name) for name in ("oncall", "siem")}
    return AlertRouter(tmp_path, dict(targets), rules)


def test_all_matching_rules_add_their_targets_once(tmp_path: Path) -> None:
    router = _router(
        tmp_path,
        [
            AlertRule(min_severity="info", targets=["siem"]),
            AlertRule(guards=["fraud"], min_severity="high", targets=["oncall", "siem"]),
            AlertRule(guards=["shield"], kinds=["ban"], min_severity="low", targets=["oncall"]),
        ],
    )
    assert router.submit(FRAUD) == ["oncall", "siem"]
    assert router.targets_for({**FRAUD, "severity": "medium"}) == ["siem"]
    assert router.submit(BAN) == [
        "oncall",
        "siem",
    ]  # a ban without a severity is low: only rules asking for it
    assert router.targets_for(LEAK) == ["siem"]
    assert [len(router.outboxes[name].pending()) for name in ("oncall", "siem")] == [2, 2]
    (queued,) = [e.alert for e in router.outboxes["oncall"].pending() if e.alert["type"] == "ban"]
    assert queued["severity"] == "low" and queued["alert_id"]
    assert router.targets_for({**BAN, "guard": "shield"}) == ["oncall", "siem"]
    assert _router(tmp_path / "default", []).targets_for(BAN) == []  # the default rule starts at medium


def test_kinds_match_the_type_or_the_detector(tmp_path: Path) -> None:
    router = _router(tmp_path, [AlertRule(kinds=["wangiri", "restriction"], targets=["oncall"])])
    assert router.targets_for(FRAUD) == ["oncall"]
    assert router.targets_for({**FRAUD, "detector": "baseline"}) == []
    assert router.targets_for({"type": "restriction", "guard": "fraud", "account": "acme"}) == ["oncall"]


def test_without_rules_every_alert_from_medium_goes_everywhere(tmp_path: Path) -> None:
    router = _router(tmp_path, [])
    assert router.targets_for(FRAUD) == ["oncall", "siem"] and router.targets_for(LEAK) == []


def test_a_down_target_does_not_delay_the_others(tmp_path: Path, hook: Hook) -> None:
    targets = {
        "down": WebhookTarget("http://127.0.0.1:9/", b"k", timeout=2, name="down"),
        "up": WebhookTarget(hook.url, b"k", name="up"),
    }
    router = AlertRouter(tmp_path, dict(targets), [])
    router.submit(FRAUD)
    router.outboxes["down"].deliver_due()
    router.outboxes["up"].deliver_due()
    assert len(hook.received) == 1 and router.outboxes["up"].pending() == []
    (waiting,) = router.outboxes["down"].pending()
    assert waiting.attempts == 1 and json.loads(hook.received[0][0])["alert_id"] == waiting.alert["alert_id"]


def test_legacy_fraud_keys_become_a_fraud_route(tmp_path: Path, hook: Hook) -> None:
    fraud = FraudSettings(
        alert_webhook_url=hook.url,
        alert_webhook_secret="k",
        alert_syslog="127.0.0.1:5514",
        alert_min_severity="high",
    )
    alerts = AlertSettings.model_validate(
        {"targets": {"siem": {"type": "syslog", "address": "127.0.0.1:5515"}}, "rules": []}
    )
    router = router_from_settings(Settings(data_dir=tmp_path, fraud=fraud, alerts=alerts))
    assert isinstance(router.outboxes["fraud-syslog"].target, SyslogTarget)
    assert router.targets_for(FRAUD) == ["fraud-syslog", "fraud-webhook", "siem"]
    assert router.targets_for({**FRAUD, "severity": "medium"}) == ["siem"]
    assert router.targets_for({**BAN, "severity": "medium"}) == ["siem"]  # the legacy route is fraud's only
    router.submit(FRAUD)
    router.outboxes["fraud-webhook"].deliver_due()
    ((body, signature),) = hook.received
    assert signature == sign(b"k", body) and (tmp_path / "outbox" / "fraud-webhook").is_dir()


def test_a_target_name_taken_by_the_legacy_route_is_refused(tmp_path: Path) -> None:
    alerts = AlertSettings.model_validate(
        {"targets": {"fraud-syslog": {"type": "syslog", "address": "[::1]:514"}}}
    )
    settings = Settings(data_dir=tmp_path, fraud=FraudSettings(alert_syslog="127.0.0.1:514"), alerts=alerts)
    with pytest.raises(ValueError, match=r"alerts\.targets\.fraud-syslog: the name is taken"):
        router_from_settings(settings)


def test_guards_share_one_router_until_the_last_lets_go(tmp_path: Path) -> None:
    alerts = AlertSettings.model_validate(
        {"targets": {"chat": {"type": "webhook", "url": "http://127.0.0.1:9/", "secret": SECRET}}}
    )
    settings = Settings(data_dir=tmp_path, alerts=alerts)
    first, second = routing.acquire(settings), routing.acquire(settings)
    assert first is second and routing.running(tmp_path) is first
    routing.release(first)
    assert routing.running(tmp_path) is first
    routing.release(second)
    assert routing.running(tmp_path) is None
    assert first.outboxes["chat"]._thread is None  # workers stopped


def test_the_old_fraud_outbox_is_taken_over(tmp_path: Path, hook: Hook) -> None:
    old = tmp_path / "outbox" / "fraud"
    old.mkdir(parents=True)
    (old / "1-a.json").write_text(json.dumps({"alert": FRAUD, "targets": ["webhook"]}))
    (old / "2-b.json").write_text(json.dumps({"alert": FRAUD, "targets": ["syslog"]}))  # not configured now
    fraud = FraudSettings(alert_webhook_url=hook.url, alert_webhook_secret="k")
    router = router_from_settings(Settings(data_dir=tmp_path, fraud=fraud))
    assert [path.name for path in old.glob("*.json")] == ["2-b.json"]
    router.outboxes["fraud-webhook"].deliver_due()
    ((body, _),) = hook.received
    assert json.loads(body)["account"] == "acme"
