"""Flood: requests per source (IPv6: per /64), as leaky buckets: all methods, and per method.

The bucket holds `limit` requests and drains at `limit / window` per second: a burst of more than `limit`
requests, or a sustained rate above `limit / window` per second, overflows. Kamailio's default config bans
at 16 requests / 2 s, Kazoo at 50 / 2 s. Twenty phones behind one NAT registering at once send 40
REGISTERs (challenge + credentials) in about a second, so the default is 50 / 2 s over all methods.

Some methods deserve a lower limit of their own (`per_method`, same window): an INVITE flood or MESSAGE
spam from one source is an attack long before it reaches the all-methods limit. Per-method buckets exist
only for the methods configured, each table bounded like the first one, so a million spoofed sources
cost at most one bucket per source and table (about 150 bytes each).
"""

from __future__ import annotations

from typing import Any

from phonewarden.core.windows import LeakyBucket
from phonewarden.shield.findings import Finding, Reporter, describe


class FloodDetector:
    name = "flood"

    def __init__(
        self, reporter: Reporter, limit: int, window: float, max_keys: int,
        per_method: dict[str, int] | None = None,
    ) -> None:  # fmt: skip
        self.reporter = reporter
        self.limit = limit
        self.window = window
        self.requests: LeakyBucket[str] = LeakyBucket(limit, limit / window, max_keys)
        self.per_method: dict[str, LeakyBucket[str]] = {
            method.upper(): LeakyBucket(count, count / window, max_keys)
            for method, count in (per_method or {}).items()
        }

    def observe(self, key: str, message: Any, now: float) -> Finding | None:
        method = message.method or "?"
        bucket = self.per_method.get(method)
        method_level = None
        if bucket is not None:
            method_level = bucket.pour(key, now)  # the level too: saves a level() lookup below
            if method_level is None:
                return self._report(key, now, int(bucket.capacity), method, f"{method} requests")
        level = self.requests.pour(key, now)
        if level is None:
            return self._report(key, now, self.limit, method, "requests")
        # Samples only from a bucket close to overflowing: one string per busy source, not per source.
        margin = self.reporter.samples.samples_per_key
        if level > self.limit - margin or (
            bucket is not None and method_level is not None and method_level > bucket.capacity - margin
        ):
            self.reporter.sample(key, lambda: describe(message))  # built only if kept
        return None

    def _report(self, key: str, now: float, limit: int, method: str, what: str) -> Finding | None:
        if self.reporter.reported.contains(key, now):
            return None  # a flood goes on overflowing: skip formatting what report() would drop
        return self.reporter.report(
            key,
            now,
            f"more than {limit} {what} within {self.window:g} s (last: {method})",
            "medium",
            limit=limit,
            window_s=self.window,
            method=method,
        )

    def sizes(self) -> dict[str, int]:
        sizes = {"flood_keys": len(self.requests)}
        sizes.update({f"flood_keys_{method}": len(b) for method, b in self.per_method.items()})
        return sizes
