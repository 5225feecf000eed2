"""Enumeration defence, the detector: denied fetches per source within a window (pure, event time).

A MAC brute force (OUI + 24-bit suffix) produces a stream of unknown-MAC denials from one source; so does
guessing file names. At `threshold` denials within `window_s` the source is reported once per window,
as a shield finding, and the shield's policy decides the ban (never-block networks, escalation).
"""

from __future__ import annotations

from phonewarden.core.windows import SlidingCounter, TtlMap
from phonewarden.shield.findings import Finding, source_key

DETECTOR = "provisioning-enumeration"


class EnumerationDetector:
    def __init__(self, threshold: int, window_s: float, max_sources: int) -> None:
        self.threshold = threshold
        self.window_s = window_s
        self.denials: SlidingCounter[str] = SlidingCounter(window_s, max_sources)
        self.reported: TtlMap[str, bool] = TtlMap(window_s, max_sources)

    def observe(self, source: str, reason: str, mac: str | None, now: float) -> Finding | None:
        key = source_key(source)
        count = self.denials.add(key, now)
        if count < self.threshold or self.reported.contains(key, now):
            return None
        self.reported.set(key, True, now)
        return Finding(
            DETECTOR,
            key,
            now,
            f"{count} denied provisioning requests within {self.window_s:g} s (last: {reason})",
            "high",
            {"denials": count, "last_reason": reason, "last_mac": mac or ""},
        )
