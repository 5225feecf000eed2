"""The names the fraud guard imported before alerts were split into modules; new code imports from
`phonewarden.alerts.routing`, `.outbox`, `.targets` and `.ack`."""

from __future__ import annotations

from phonewarden.alerts.ack import AckTracker
from phonewarden.alerts.routing import AlertRouter
from phonewarden.alerts.targets.syslog import SEVERITY_TO_SYSLOG, SyslogTarget
from phonewarden.alerts.targets.webhook import SIGNATURE_HEADER, WebhookTarget, sign

# What a guard hands its alerts to (`submit(alert)`): the router, which owns the per-target outboxes.
Outbox = AlertRouter

__all__ = [
    "SEVERITY_TO_SYSLOG",
    "SIGNATURE_HEADER",
    "AckTracker",
    "Outbox",
    "SyslogTarget",
    "WebhookTarget",
    "sign",
]
