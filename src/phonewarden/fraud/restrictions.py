"""Graded, time-limited, reversible restrictions and the authorize decision, all in memory.

Levels: 0 normal · 1 international blocked · 2 only national (no international, premium, shared cost,
invalid numbers) · 3 all outbound blocked. Emergency numbers are always allowed. A destination block
(Wangiri number) denies that number to every account. Every change is appended to `audit`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from phonewarden.core.records import iso_time
from phonewarden.fraud.rating import Rating
from phonewarden.fraud.records import Restriction

LEVEL_NAMES = {0: "normal", 1: "international blocked", 2: "only national", 3: "all outbound blocked"}
MAX_AUDIT = 10_000


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
    action: str  # restrict | lift | expire | block-destination
    account: str
    level: int
    actor: str
    reason: str


def denied_by_level(level: int, rating: Rating) -> bool:
    if rating.scope == "emergency" or level <= 0:
        return False
    if level >= 3:
        return True
    if rating.scope == "international" or rating.number_type == "satellite":
        return True
    return level >= 2 and (rating.scope == "invalid" or rating.number_type in ("premium_rate", "shared_cost"))


class RestrictionBook:
    def __init__(self) -> None:
        self.accounts: dict[str, Restriction] = {}
        self.destinations: dict[str, Restriction] = {}
        self.audit: deque[AuditEntry] = deque(maxlen=MAX_AUDIT)

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
        if current is None:
            return False
        self.audit.append(AuditEntry(now, "lift", account, 0, actor, reason))
        return True

    def level(self, account: str, now: float) -> int:
        current = self.accounts.get(account)
        if current is None:
            return 0
        if current.until <= now:
            del self.accounts[account]
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
            current = self.accounts[account]
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
