"""Alerts that need a person: `expired(now)` returns those unacknowledged past their deadline."""

from __future__ import annotations

from typing import Any


class AckTracker:
    def __init__(self, timeout_seconds: float) -> None:
        self.timeout = timeout_seconds
        self.waiting: dict[str, tuple[float, dict[str, Any]]] = {}

    def require(self, key: str, alert: dict[str, Any], now: float) -> None:
        self.waiting.setdefault(key, (now + self.timeout, alert))

    def acknowledge(self, key: str) -> bool:
        return self.waiting.pop(key, None) is not None

    def expired(self, now: float) -> list[dict[str, Any]]:
        due = [key for key, (deadline, _) in self.waiting.items() if deadline <= now]
        return [self.waiting.pop(key)[1] for key in due]
