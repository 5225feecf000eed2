"""The guards' live hooks submit through the router: a shield ban, privacy violations and leaks (once)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from phonewarden.alerts.routing import AlertRouter
from phonewarden.alerts.settings import AlertRule
from phonewarden.alerts.targets.webhook import WebhookTarget
from phonewarden.capture.replay import CaptureReplay
from phonewarden.privacy.live import LivePrivacy
from phonewarden.privacy.settings import PrivacySettings
from phonewarden.settings import Settings, load_settings
from phonewarden.shield import live as shield_live
from phonewarden.shield.enforce import DryRunEnforcer
from phonewarden.shield.service import ShieldService
from tests.privacy import conftest as privacy_fixtures
from tests.shield.records import capture as shield_capture

capture = privacy_fixtures.capture
devices_file = privacy_fixtures.devices_file


def _router(folder: Path) -> AlertRouter:
    # Workers not started: what the guards submit stays in the outbox for the test to read. Bans are low.
    siem = WebhookTarget("http://127.0.0.1:9/", b"k", name="siem")
    return AlertRouter(folder, {"siem": siem}, [AlertRule(min_severity="low", targets=["siem"])])


def test_a_shield_ban_is_an_alert(clean_env: Path) -> None:
    router = _router(clean_env / "outbox")
    enforcer = DryRunEnforcer()
    guard = shield_live.LiveShield(
        ShieldService(load_settings().shield, enforcers=[enforcer]), None, alerts=router
    )
    guard.started.wait(5)
    for record in shield_capture("sip-scan-sipvicious.pcapng"):
        guard.on_record(record)
    asyncio.run(guard.stop())
    assert len(guard.applied) == 1
    (entry,) = router.outboxes["siem"].pending()
    alert = entry.alert
    assert (alert["type"], alert["guard"], alert["severity"], alert["source"]) == (
        "ban",
        "shield",
        "low",
        "127.0.0.1",
    )
    assert alert["summary"].startswith("banned 127.0.0.1 for 3600 s: ")


def test_privacy_violations_and_leaks_alert_once(tmp_path: Path, capture: Path, devices_file: Path) -> None:
    router = _router(tmp_path / "outbox")
    settings = Settings(
        data_dir=tmp_path, privacy=PrivacySettings(devices_file=devices_file, policies=["eu"])
    )
    guard = LivePrivacy(settings, None, router)
    for frame in CaptureReplay(capture, progress=False):
        guard.on_record(frame)
    raised = guard.check_alerts()
    assert raised > 0 and guard.check_alerts() == 0  # nothing new: no repeat
    alerts = [entry.alert for entry in router.outboxes["siem"].pending()]
    assert len(alerts) == raised and {a["guard"] for a in alerts} == {"privacy"}
    violation = next(a for a in alerts if a["type"] == "verdict")
    assert violation["device"] == "nokia-7-plus" and violation["summary"].startswith(
        "nokia-7-plus breaks policy"
    )
    assert any(a["type"] == "leak" and a["identifier"] == "imei" for a in alerts)
    asyncio.run(guard.stop())
    assert len(router.outboxes["siem"].pending()) == raised  # stop checks again, finds nothing new
