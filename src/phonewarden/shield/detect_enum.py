"""Enumeration: one source asking for many users that the server says do not exist or are refused.

Counted: distinct target users answered 404, 484 or 604, or 403 without credentials. A challenge (401/407)
is not counted: a PBX challenges existing users, and twenty phones behind one NAT are twenty challenged
users. A source that succeeds is trusted by the policy, so "without ever succeeding" holds there.
"""

from __future__ import annotations

from phonewarden.core.windows import DistinctCounter
from phonewarden.shield.findings import Finding, Reporter
from phonewarden.shield.transactions import Outcome

NOT_FOUND = frozenset({404, 484, 604})


class EnumerationDetector:
    name = "enumeration"

    def __init__(self, reporter: Reporter, limit: int, window: float, max_keys: int) -> None:
        self.reporter = reporter
        self.limit = limit
        self.users: DistinctCounter[str, str] = DistinctCounter(window, max_keys, limit)

    def observe(self, outcome: Outcome, now: float) -> Finding | None:
        refused = outcome.status == 403 and not outcome.credentials
        if outcome.status not in NOT_FOUND and not refused:
            return None
        key = outcome.source
        distinct = self.users.add(key, outcome.target or "", now)
        self.reporter.sample(key, lambda: outcome.summary)
        if distinct < self.limit:
            return None
        return self.reporter.report(
            key,
            now,
            f"{distinct} distinct users probed and refused within {self.users.window:g} s",
            "high",
            distinct_users=distinct,
            method=outcome.method,
        )
