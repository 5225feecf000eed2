"""The `[console]` settings section: where the console listens and its security knobs.

Defaults follow docs/console.md: sessions end after 15 idle minutes or 8 hours (Telekom 002 asks for
expiry), an account locks after 5 failures for 30 s doubling to at most 1 h, and a client address may
try 10 logins at once, refilled at 10 a minute.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class ConsoleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    idle_timeout_minutes: Annotated[float, Field(gt=0, le=24 * 60)] = 15
    absolute_timeout_hours: Annotated[float, Field(gt=0, le=7 * 24)] = 8
    lock_after_failures: Annotated[int, Field(ge=1, le=100)] = 5
    lock_base_seconds: Annotated[float, Field(ge=1, le=86400)] = 30
    lock_max_seconds: Annotated[float, Field(ge=1, le=7 * 86400)] = 3600
    login_burst: Annotated[int, Field(ge=1, le=10_000)] = 10
    login_per_minute: Annotated[float, Field(gt=0, le=10_000)] = 10
    # Browsers send Secure cookies only over HTTPS, and over plain HTTP only to loopback.
    secure_cookies: bool = True
    # Reverse proxies (TLS terminators) whose X-Forwarded-For/-Proto the console believes; the audit log
    # and the login rate limit then see the real client address. Empty: no header is believed.
    trusted_proxies: list[str] = []

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        return value

    def listens_on_loopback(self) -> bool:
        if self.host.lower() in LOOPBACK_NAMES:
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def transport_warning(self) -> str | None:
        """What an operator must know when the console is reachable from other hosts over plain HTTP."""
        if self.listens_on_loopback():
            return None
        if self.trusted_proxies:
            return None  # a TLS-terminating proxy in front: the browser talks HTTPS
        if self.secure_cookies:
            return (
                f"the console listens on {self.host}:{self.port} over plain HTTP: browsers on other hosts "
                "will not send its Secure session cookie, so logins there fail. Put a TLS reverse proxy in "
                "front (and list it in console.trusted_proxies), or reach it through an SSH tunnel."
            )
        return (
            f"the console listens on {self.host}:{self.port} over plain HTTP with secure_cookies = false: "
            "passwords and session cookies cross the network in clear text."
        )
