"""Graded, time-limited, reversible restrictions and the authorize decision, all in memory.

Levels: 0 normal · 1 international blocked · 2 only national (no international, premium, shared cost,
invalid numbers) · 3 all outbound blocked. Emergency numbers are always allowed. A destination block
(Wangiri number) denies that number to every account. Every change is appended to `audit`.

A restriction holds while the line keeps trying what it forbids: each denied call moves its end to
`now` + its original length, so it runs out only after that long without a denied attempt (an attack
that outlasts the restriction stays stopped; a person lifts it earlier).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import msgspec

from phonewarden.core.records import iso_time
from phonewarden.fraud.rating import Rating
from phonewarden.fraud.records import Restriction

LEVEL_NAMES = {0: "normal", 1: "international blocked", 2: "only national", 3: "all outbound blocked"}
MAX_AUDIT = 10_000
RENEW_AUDIT_S = 3600.0  # a restriction renewed by denied attempts is noted in the audit at most hourly


@dataclass(frozen=True, slots=True)
class Decision:
    allow: bool
    reason: str
    level: int

    def to_json(self) -> dict[str, object]:
        return {"decision": "allow" if self.allow else "deny", "reason": self.reason, "level": self.level}


@dataclass(frozen=True, slots=True)
class AuditEntry:
    time: float
    action: str  # restrict | renew | lift | expire | block-destination | unblock-destination
    account: str
    level: int
    actor: str
    reason: str


def destination_digits(text: str) -> str:
    """A blocked number as an operator types it (+1 876 555-0123) -> the E.164 digits it is kept by."""
    digits = "".join(text.split()).replace("-", "").removeprefix("+")
    if not digits.isdigit() or len(digits) > 15:
        raise ValueError(f"destination {text!r} is not a number in E.164 form (+ and up to 15 digits)")
    return digits


def denied_by_level(level: int, rating: Rating) -> bool:
    if rating.scope == "emergency" or level <= 0:
        return False
    if level >= 3:
        return True
    if rating.international or rating.number_type == "satellite":  # any other country code, valid or not
        return True
    return level >= 2 and (rating.scope == "invalid" or rating.number_type in ("premium_rate", "shared_cost"))


class RestrictionBook:
    def __init__(self) -> None:
        self.accounts: dict[str, Restriction] = {}
        self.destinations: dict[str, Restriction] = {}
        self.audit: deque[AuditEntry] = deque(maxlen=MAX_AUDIT)
        self.holds: dict[str, float] = {}  # account -> seconds a denied attempt keeps it restricted
        self._renew_noted: dict[str, float] = {}  # account -> when a renewal was last audited

    def apply(self, restriction: Restriction) -> bool:
        """Record a restriction; False when an equal or stronger one is already active."""
        if restriction.destination:
            current = self.destinations.get(restriction.destination)
            if current is not None and current.until >= restriction.until:
                return False
            self.destinations[restriction.destination] = restriction
            action = "block-destination"
        else:
            current = self.accounts.get(restriction.account)
            if (
                current is not None
                and current.level >= restriction.level
                and current.until > restriction.time
            ):
                return False
            self.accounts[restriction.account] = restriction
            self.holds[restriction.account] = max(restriction.until - restriction.time, 0.0)
            action = "restrict"
        self.audit.append(
            AuditEntry(
                restriction.time,
                action,
                restriction.account,
                restriction.level,
                restriction.actor,
                restriction.reason,
            )
        )
        return True

    def lift(self, account: str, actor: str, now: float, reason: str = "lifted by operator") -> bool:
        current = self.accounts.pop(account, None)
        self.holds.pop(account, None)
        if current is None:
            return False
        self.audit.append(AuditEntry(now, "lift", account, 0, actor, reason))
        return True

    def lift_destination(
        self, destination: str, actor: str, now: float, reason: str = "unblocked by operator"
    ) -> bool:
        """End a number block (E.164 digits, as blocked); False when the number is not blocked."""
        current = self.destinations.pop(destination, None)
        if current is None or current.until <= now:
            return False
        self.audit.append(AuditEntry(now, "unblock-destination", "*", 0, actor, f"+{destination}: {reason}"))
        return True

    def _renew(self, current: Restriction, now: float) -> Restriction:
        """A denied attempt: keep the restriction for its original length from now."""
        until = now + self.holds.get(current.account, 0.0)
        if until <= current.until:
            return current
        renewed = msgspec.structs.replace(current, until=until)  # records handed out stay as they were
        self.accounts[current.account] = renewed
        noted = self._renew_noted.get(current.account)
        if noted is None or now - noted >= RENEW_AUDIT_S or noted > now:
            self._renew_noted[current.account] = now
            self.audit.append(
                AuditEntry(
                    now,
                    "renew",
                    current.account,
                    current.level,
                    "phonewarden",
                    f"denied attempts continue: held until {iso_time(until)}",
                )
            )
        return renewed

    def level(self, account: str, now: float) -> int:
        current = self.accounts.get(account)
        if current is None:
            return 0
        if current.until <= now:
            del self.accounts[account]
            self.holds.pop(account, None)
            self.audit.append(AuditEntry(now, "expire", account, 0, "phonewarden", "restriction ran out"))
            return 0
        return current.level

    def active(self, now: float) -> list[Restriction]:
        for account in list(self.accounts):
            self.level(account, now)
        live = [r for r in self.destinations.values() if r.until > now]
        return sorted([*self.accounts.values(), *live], key=lambda r: r.time)

    def authorize(self, account: str, rating: Rating, now: float) -> Decision:
        if rating.scope == "emergency":
            return Decision(True, "emergency number", 0)
        level = self.level(account, now)
        if denied_by_level(level, rating):
            current = self._renew(self.accounts[account], now)
            return Decision(
                False,
                f"account restricted to level {level} ({LEVEL_NAMES[level]}) until "
                f"{iso_time(current.until)}: {current.reason}",
                level,
            )
        blocked = self.destinations.get(rating.e164) if rating.e164 else None
        if blocked is not None and blocked.until > now:
            return Decision(False, f"destination +{rating.e164} blocked: {blocked.reason}", level)
        return Decision(True, LEVEL_NAMES[level] if level else "no restriction", level)
