"""Flood: requests per source (IPv6: per /64), as a leaky bucket per source.

The bucket holds `limit` requests and drains at `limit / window` per second: a burst of more than `limit`
requests, or a sustained rate above `limit / window` per second, overflows. Kamailio's default config bans
at 16 requests / 2 s, Kazoo at 50 / 2 s. Twenty phones behind one NAT registering at once send 40
REGISTERs (challenge + credentials) in about a second, so the default is 50 / 2 s. One bucket per source
(about 150 bytes) keeps a million spoofed sources affordable; the method of the overflowing request and
the methods of the last requests are in the evidence.
"""

from __future__ import annotations

from typing import Any

from phonewarden.core.windows import LeakyBucket
from phonewarden.shield.findings import Finding, Reporter, describe


class FloodDetector:
    name = "flood"

    def __init__(self, reporter: Reporter, limit: int, window: float, max_keys: int) -> None:
        self.reporter = reporter
        self.limit = limit
        self.window = window
        self.requests: LeakyBucket[str] = LeakyBucket(limit, limit / window, max_keys)

    def observe(self, key: str, message: Any, now: float) -> Finding | None:
        requests = self.requests
        if not requests.add(key, now):
            # Samples only from a bucket close to overflowing: one string per busy source, not per source.
            if requests.level(key, now) > self.limit - self.reporter.samples.samples_per_key:
                self.reporter.sample(key, describe(message))
            return None
        method = message.method or "?"
        return self.reporter.report(
            key,
            now,
            f"more than {self.limit} requests within {self.window:g} s (last: {method})",
            "medium",
            limit=self.limit,
            window_s=self.window,
            method=method,
        )
