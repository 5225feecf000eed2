"""The names kept for the fraud guard's imports still work."""

from __future__ import annotations

from phonewarden.alerts import delivery
from phonewarden.alerts.ack import AckTracker
from phonewarden.alerts.routing import AlertRouter


def test_old_names_point_to_the_new_modules() -> None:
    assert delivery.Outbox is AlertRouter and delivery.AckTracker is AckTracker
    assert delivery.sign(b"k", b"{}").startswith("sha256=")
