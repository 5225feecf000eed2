"""Malformed / anomalous: requests the SIP decoder flagged as broken, per source.

Only flags that a real phone does not produce count (a missing start line, a missing Call-ID, a broken
length); cosmetic ones such as LF-only line ends or a folded header do not. AudioCodes' IDS example rule
denies at 25 malformed messages in 30 s.
"""

from __future__ import annotations

from typing import Any

from phonewarden.core.windows import SlidingCounter
from phonewarden.shield.findings import Finding, Reporter

SEVERE = frozenset(
    {
        "parser-error", "no-start-line", "bad-start-line", "missing-call-id", "missing-cseq",
        "bad-content-length", "body-truncated", "oversize", "bad-header-line", "missing-blank-line",
    }
)  # fmt: skip


class MalformedDetector:
    name = "malformed"

    def __init__(self, reporter: Reporter, limit: int, window: float, max_keys: int) -> None:
        self.reporter = reporter
        self.limit = limit
        self.counts: SlidingCounter[str] = SlidingCounter(window, max_keys)

    def observe(self, key: str, message: Any, now: float, well_formed: bool) -> Finding | None:
        """`well_formed`: a request whose Call-ID and CSeq the caller read (each read costs a search)."""
        if well_formed:
            # A request with a start line, Call-ID and CSeq: skip the full header scan (most traffic).
            # Length errors in such a message go uncounted: the price of keeping up with a flood.
            return None
        flags = [flag for flag in message.anomalies if flag in SEVERE]
        if not flags:
            return None
        count = self.counts.add(key, now)
        self.reporter.sample(key, f"{','.join(flags)}: {bytes(message.raw[:80])!r}")
        if count < self.limit:
            return None
        return self.reporter.report(
            key,
            now,
            f"{count} malformed SIP messages within {self.counts.window:g} s",
            "medium",
            malformed=count,
        )
