"""Where alerts go: each target delivers one alert per call, or raises OSError; the outbox retries."""

from __future__ import annotations

from typing import Any, Protocol

from phonewarden.alerts.settings import (
    EmailTargetSettings,
    SyslogTargetSettings,
    TargetSettings,
    WebhookTargetSettings,
    split_address,
)


class Target(Protocol):
    name: str

    def send(self, alert: dict[str, Any]) -> None:
        """Deliver once or raise OSError (smtplib and ssl errors are OSErrors too)."""


def build_target(name: str, settings: TargetSettings) -> Target:
    from phonewarden.alerts.targets.email import EmailTarget
    from phonewarden.alerts.targets.syslog import SyslogTarget
    from phonewarden.alerts.targets.webhook import WebhookTarget

    if isinstance(settings, WebhookTargetSettings):
        return WebhookTarget(settings.url, settings.secret.encode(), timeout=settings.timeout_s, name=name)
    if isinstance(settings, EmailTargetSettings):
        return EmailTarget(settings, name=name)
    assert isinstance(settings, SyslogTargetSettings)
    host, port = split_address(settings.address)
    return SyslogTarget(host, port, settings.transport, timeout=settings.timeout_s, name=name)
