"""Acknowledgement deadlines."""

from __future__ import annotations

from phonewarden.alerts.ack import AckTracker

ALERT = {"type": "alert", "account": "acme", "severity": "high"}


def test_unacknowledged_alerts_expire_at_their_deadline() -> None:
    tracker = AckTracker(900)
    tracker.require("a", ALERT, 0)
    tracker.require("b", ALERT, 0)
    tracker.require("b", {**ALERT, "account": "later"}, 100)  # the first deadline stands
    assert tracker.acknowledge("a") and not tracker.acknowledge("a")
    assert tracker.expired(899) == []
    assert tracker.expired(900) == [ALERT] and tracker.waiting == {}
