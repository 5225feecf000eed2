"""Enumeration: one source asking for many users that the server says do not exist or are refused.

Counted: distinct target users answered 404, 484 or 604, or 403 without credentials. A challenge (401/407)
alone is not counted there: a PBX challenges existing users, and twenty phones behind one NAT are twenty
challenged users. A source that succeeds is trusted by the policy, so "without ever succeeding" holds there.

A server that challenges unknown users too (Asterisk `alwaysauthreject`, the default since Asterisk 1.6)
answers every probe with 401/407. Then the tell is what the source does next: a phone answers its
challenge with credentials at once, an enumerator never does. So distinct users challenged without
credentials are counted separately, against a higher limit, and reported only if the source neither sent
credentials nor succeeded within the window.
"""

from __future__ import annotations

from phonewarden.core.windows import DistinctCounter, TtlMap
from phonewarden.shield.findings import Finding, Reporter
from phonewarden.shield.transactions import CHALLENGES, Outcome

NOT_FOUND = frozenset({404, 484, 604})


class EnumerationDetector:
    name = "enumeration"

    def __init__(
        self,
        reporter: Reporter,
        limit: int,
        window: float,
        max_keys: int,
        challenged_limit: int | None = None,
    ) -> None:
        self.reporter = reporter
        self.limit = limit
        self.users: DistinctCounter[str, str] = DistinctCounter(window, max_keys, limit)
        self.challenged_limit = challenged_limit
        self.challenged: DistinctCounter[str, str] | None = (
            DistinctCounter(window, max_keys, challenged_limit) if challenged_limit else None
        )
        # Sources that answered a challenge with credentials or succeeded: behaving like phones.
        self.answering: TtlMap[str, bool] = TtlMap(window, max_keys)

    def observe(self, outcome: Outcome, now: float) -> Finding | None:
        status, key = outcome.status, outcome.source
        if outcome.credentials or outcome.succeeded:
            if self.challenged is not None:
                self.answering.set(key, True, now)
        elif status in CHALLENGES:
            return self._challenged(outcome, now)
        refused = status == 403 and not outcome.credentials
        if status not in NOT_FOUND and not refused:
            return None
        distinct = self.users.add(key, outcome.target or "", now)
        self.reporter.sample(key, lambda: outcome.summary)
        if distinct < self.limit or self.reporter.reported.contains(key, now):
            return None  # below the limit, or reported already (report() would say so after formatting)
        return self.reporter.report(
            key,
            now,
            f"{distinct} distinct users probed and refused within {self.users.window:g} s",
            "high",
            distinct_users=distinct,
            method=outcome.method,
        )

    def _challenged(self, outcome: Outcome, now: float) -> Finding | None:
        challenged, key = self.challenged, outcome.source
        if challenged is None:
            return None
        distinct = challenged.add(key, outcome.target or "", now)
        if distinct < challenged.max_items_per_key - self.reporter.samples.samples_per_key:
            return None  # far from the limit: no evidence kept (one challenge per phone is normal)
        self.reporter.sample(key, lambda: outcome.summary)
        if distinct < challenged.max_items_per_key or self.answering.contains(key, now):
            return None
        if self.reporter.reported.contains(key, now):
            return None  # reported already: skip formatting a finding that report() would drop
        return self.reporter.report(
            key,
            now,
            f"{distinct} distinct users challenged within {challenged.window:g} s and not one answered "
            "with credentials: probing a server that challenges unknown users",
            "high",
            distinct_users=distinct,
            method=outcome.method,
            status=outcome.status,
        )
