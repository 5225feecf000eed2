"""Console security knobs with their defaults; the app keeps one instance in `app.state`.

Operators set them in the `[console]` settings section (console/settings.py); tests shorten them on
`app.state.console.policy`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from phonewarden.console.settings import ConsoleSettings


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANKS = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


@dataclass
class ConsolePolicy:
    # Telekom 002 asks for logout and session expiry: idle and absolute limits.
    idle_timeout_s: float = 15 * 60
    absolute_timeout_s: float = 8 * 3600
    # Lockout per account: after `lock_after` failures, locked for base * 2^(extra failures), capped.
    lock_after: int = 5
    lock_base_s: float = 30.0
    lock_max_s: float = 3600.0
    # Rate limit per client address on login attempts: a burst of `login_burst`, refilled per minute.
    login_burst: int = 10
    login_per_minute: float = 10.0
    # Secure cookies; browsers accept them on http://127.0.0.1 and localhost as well.
    secure_cookies: bool = True

    @classmethod
    def from_settings(cls, console: ConsoleSettings) -> ConsolePolicy:
        return cls(
            idle_timeout_s=console.idle_timeout_minutes * 60,
            absolute_timeout_s=console.absolute_timeout_hours * 3600,
            lock_after=console.lock_after_failures,
            lock_base_s=console.lock_base_seconds,
            lock_max_s=console.lock_max_seconds,
            login_burst=console.login_burst,
            login_per_minute=console.login_per_minute,
            secure_cookies=console.secure_cookies,
        )

    def lock_seconds(self, failures: int) -> float:
        if failures < self.lock_after:
            return 0.0
        return float(min(self.lock_base_s * 2 ** (failures - self.lock_after), self.lock_max_s))
