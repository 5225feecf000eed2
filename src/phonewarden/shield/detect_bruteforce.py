"""Brute force: failed authentications per source and per Digest username, seen as responses to requests.

A failure is a 401/407 answering a request that carried credentials (the password was wrong; a `stale=true`
challenge is a retry, not a failure) or a 403 to REGISTER/INVITE/SUBSCRIBE/MESSAGE. Counting challenges to
requests without credentials would flag every phone: each REGISTER is challenged once (fail2ban #1500).

Two counts, same limit and window:
- per source: `limit` failures from one address;
- per username: `limit` wrong passwords for one Digest username from two or more addresses (a botnet that
  spreads its guesses so that no address reaches the per-source limit). From then on, while the username
  stays over the limit, every address that fails for it is reported: a username gets at most `limit`
  wrong passwords per window, however many addresses the guesses come from (docs/shield.md).
A success after enough failures, counted either way, means a password was probably guessed: critical.
"""

from __future__ import annotations

from phonewarden.core.windows import DistinctCounter, SlidingCounter
from phonewarden.shield.findings import Finding, Reporter
from phonewarden.shield.transactions import Outcome

MAX_USERS_TRACKED = 64  # distinct usernames remembered per source
MAX_GUESSERS_TRACKED = 256  # distinct sources remembered per username
EVIDENCE_GUESSERS = 16  # sources named in a per-username finding


class _Guessers(DistinctCounter[str, str]):
    """Username -> the sources that failed for it in the window, most recent last."""

    def members(self, user: str, now: float) -> list[str]:
        seen = self._entries.get(user)
        if seen is None:
            return []
        self._forget_old(seen, self._time(now))
        return list(seen.last_seen)

    def has(self, user: str, source: str, now: float) -> bool:
        return source in self.members(user, now)


class BruteForceDetector:
    name = "brute-force"

    def __init__(self, reporter: Reporter, limit: int, window: float, max_keys: int) -> None:
        self.reporter = reporter
        self.limit = limit
        self.failures: SlidingCounter[str] = SlidingCounter(window, max_keys)
        self.users: DistinctCounter[str, str] = DistinctCounter(window, max_keys, MAX_USERS_TRACKED)
        # Usernames are the attacker's choice: both tables are bounded by max_keys like the per-source ones.
        self.user_failures: SlidingCounter[str] = SlidingCounter(window, max_keys)
        self.guessers = _Guessers(window, max_keys, MAX_GUESSERS_TRACKED)

    def observe(self, outcome: Outcome, now: float) -> Finding | None:
        key = outcome.source
        if outcome.succeeded and outcome.credentials:
            return self._success(outcome, now)
        if not outcome.failed_auth:
            return None
        failures = self.failures.add(key, now)
        users = self.users.add(key, outcome.user or "", now)
        self.reporter.sample(key, lambda: outcome.summary)
        user = outcome.user if outcome.credentials else None  # a guess names its Digest username
        user_failures = guessers = 0
        if user:
            user_failures = self.user_failures.add(user, now)
            guessers = self.guessers.add(user, key, now)
        over = failures >= self.limit or (user and user_failures >= self.limit)
        if not over or self.reporter.reported.contains(key, now):
            return None  # before formatting: most failures of a guesser come after its finding
        if failures >= self.limit:
            return self.reporter.report(
                key,
                now,
                f"{failures} failed authentications for {users} user(s) within {self.failures.window:g} s",
                "high",
                failures=failures,
                users=users,
            )
        # One guesser over the per-user limit is over the per-source limit too, so this is the spread case.
        if user and user_failures >= self.limit:
            return self.reporter.report(
                key,
                now,
                f"{user_failures} failed authentications for {user!r} from {guessers} sources within "
                f"{self.failures.window:g} s (this source: {failures}): distributed guessing",
                "high",
                user=user,
                failures=user_failures,
                sources=guessers,
                source_failures=failures,
                guessers=self.guessers.members(user, now)[-EVIDENCE_GUESSERS:],
            )
        return None

    def earlier_guessers(self, finding: Finding) -> list[Finding]:
        """For a per-username finding: one finding for each address that guessed at the username before the
        limit was crossed and has not been reported in the window (the caller decides on each)."""
        user = finding.evidence.get("user")
        if finding.detector != self.name or "guessers" not in finding.evidence or not user:
            return []
        failures, sources, now = finding.evidence["failures"], finding.evidence["sources"], finding.time
        reason = (
            f"took part in {failures} failed authentications for {user!r} from {sources} sources within "
            f"{self.failures.window:g} s: distributed guessing"
        )
        found = []
        for source in finding.evidence["guessers"]:
            if source == finding.source:
                continue
            earlier = self.reporter.report(
                source, now, reason, "high", user=user, failures=failures, sources=sources,
                source_failures=self.failures.total(source, now),
            )  # fmt: skip
            if earlier is not None:
                found.append(earlier)
        return found

    def _success(self, outcome: Outcome, now: float) -> Finding | None:
        key, user = outcome.source, outcome.user
        failures = self.failures.total(key, now)
        spread = 0
        if failures < self.limit and user and self.guessers.has(user, key, now):
            spread = self.user_failures.total(user, now)
        if max(failures, spread) < self.limit or self.reporter.reported.contains(f"{key} guessed", now):
            return None
        self.reporter.reported.set(f"{key} guessed", True, now)
        if failures >= self.limit:
            reason = f"authentication succeeded for {user!r} after {failures} failures"
        else:
            others = self.guessers.count(user or "", now)
            reason = (
                f"authentication succeeded for {user!r} from one of {others} sources that failed "
                f"{spread} times for it"
            )
        return Finding(
            self.name,
            key,
            now,
            f"{reason}: password probably guessed",
            "critical",
            {"failures": max(failures, spread), "user": user, "samples": [outcome.summary]},
        )
