"""Brute force: failed authentications per source, seen as responses to the source's own requests.

A failure is a 401/407 answering a request that carried credentials (the password was wrong; a `stale=true`
challenge is a retry, not a failure) or a 403 to REGISTER/INVITE. Counting challenges to requests without
credentials would flag every phone: each REGISTER is challenged once (fail2ban #1500). A success after
enough failures means a password was probably guessed: reported as critical.
"""

from __future__ import annotations

from phonewarden.core.windows import DistinctCounter, SlidingCounter
from phonewarden.shield.findings import Finding, Reporter
from phonewarden.shield.transactions import Outcome

MAX_USERS_TRACKED = 64


class BruteForceDetector:
    name = "brute-force"

    def __init__(self, reporter: Reporter, limit: int, window: float, max_keys: int) -> None:
        self.reporter = reporter
        self.limit = limit
        self.failures: SlidingCounter[str] = SlidingCounter(window, max_keys)
        self.users: DistinctCounter[str, str] = DistinctCounter(window, max_keys, MAX_USERS_TRACKED)

    def observe(self, outcome: Outcome, now: float) -> Finding | None:
        key = outcome.source
        if outcome.succeeded and outcome.credentials:
            failures = self.failures.total(key, now)
            if failures >= self.limit and not self.reporter.reported.contains(f"{key} guessed", now):
                self.reporter.reported.set(f"{key} guessed", True, now)
                return Finding(
                    self.name,
                    key,
                    now,
                    f"authentication succeeded for {outcome.user!r} after {failures} failures: "
                    "password probably guessed",
                    "critical",
                    {"failures": failures, "user": outcome.user, "samples": [outcome.summary]},
                )
            return None
        if not outcome.failed_auth:
            return None
        failures = self.failures.add(key, now)
        users = self.users.add(key, outcome.user or "", now)
        self.reporter.sample(key, lambda: outcome.summary)
        if failures < self.limit:
            return None
        return self.reporter.report(
            key,
            now,
            f"{failures} failed authentications for {users} user(s) within {self.failures.window:g} s",
            "high",
            failures=failures,
            users=users,
        )
