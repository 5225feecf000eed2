"""Enforcement: the one small interface the policy bans through, a dry-run back-end and the factory.

Back-ends have side effects (nftables, Kamailio); everything they receive is validated here first, so a
malformed address or duration never reaches `nft` or an RPC call.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from phonewarden.shield.settings import ShieldSettings

BanTarget = ipaddress.IPv4Address | ipaddress.IPv6Address | ipaddress.IPv4Network | ipaddress.IPv6Network

# Wider bans than these would cut off whole providers; a policy bug must not be able to do that.
MIN_PREFIX = {4: 16, 6: 32}
# nftables has no cap; Kamailio's expire is a C int. One year is far beyond any sane escalation cap.
MAX_DURATION_S = 366 * 24 * 3600
# nftables element comments are limited to 128 bytes.
MAX_REASON_BYTES = 120


class EnforcementError(RuntimeError):
    """A back-end could not apply a ban or unban; the message names the back-end, the address and why."""


class Enforcer(Protocol):
    name: str

    def start(self) -> None:
        """Idempotent setup (table, sets, connection check)."""

    def ban(self, address: str, duration_s: int, reason: str) -> None:
        """Block `address` (an IP, or a CIDR such as an IPv6 /64) for `duration_s` seconds."""

    def unban(self, address: str) -> None:
        """Lift a ban; lifting one that is not there is not an error."""

    def active(self) -> dict[str, float]:
        """Active bans: canonical address or CIDR -> seconds left."""

    def stop(self) -> None:
        """End this process's use of the back-end; bans stay and end by their own timeouts."""

    def remove(self) -> None:
        """Remove what start() set up and every ban in it (`phonewarden shield uninstall`)."""


def parse_target(address: str) -> BanTarget:
    """An IP address or CIDR network, strictly; a full-length prefix (/32, /128) becomes the address."""
    if not isinstance(address, str) or not address.strip():
        raise ValueError(f"ban address must be a non-empty IP or CIDR string, got {address!r}")
    text = address.strip()
    try:
        if "/" not in text:
            return ipaddress.ip_address(text)
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as error:
        raise ValueError(f"ban address {address!r} is not an IP address or CIDR network: {error}") from None
    if network.prefixlen == network.max_prefixlen:
        return network.network_address
    if network.prefixlen < MIN_PREFIX[network.version]:
        raise ValueError(
            f"ban address {address!r} is too wide: IPv{network.version} networks must be "
            f"/{MIN_PREFIX[network.version]} or narrower"
        )
    return network


def canonical(address: str) -> str:
    """The one spelling every back-end uses as key: compressed address or network."""
    return str(parse_target(address))


def check_duration(duration_s: int) -> int:
    if isinstance(duration_s, bool) or not isinstance(duration_s, int):
        raise ValueError(f"ban duration must be whole seconds (int), got {duration_s!r}")
    if not 1 <= duration_s <= MAX_DURATION_S:
        raise ValueError(f"ban duration {duration_s} s is outside 1..{MAX_DURATION_S} s")
    return duration_s


def clean_reason(reason: str) -> str:
    """Printable, single-line and short enough for an nftables comment or a Kamailio htable value."""
    printable = "".join(char if char.isprintable() else " " for char in str(reason)).strip()
    encoded = printable.encode()[:MAX_REASON_BYTES]
    return encoded.decode(errors="ignore") or "-"


@dataclass(frozen=True, slots=True)
class EnforcementAction:
    at: float
    action: Literal["start", "ban", "unban", "stop", "remove"]
    address: str = ""
    duration_s: int = 0
    reason: str = ""


@dataclass
class DryRunEnforcer:
    """Blocks nothing: records what it would do and keeps the ban list a real back-end would have."""

    name: str = "dry-run"
    clock: Callable[[], float] = time.monotonic
    actions: list[EnforcementAction] = field(default_factory=list)
    _until: dict[str, float] = field(default_factory=dict)

    def start(self) -> None:
        self.actions.append(EnforcementAction(self.clock(), "start"))

    def ban(self, address: str, duration_s: int, reason: str) -> None:
        key, duration = canonical(address), check_duration(duration_s)
        now = self.clock()
        self._until[key] = now + duration
        self.actions.append(EnforcementAction(now, "ban", key, duration, clean_reason(reason)))

    def unban(self, address: str) -> None:
        key = canonical(address)
        self._until.pop(key, None)
        self.actions.append(EnforcementAction(self.clock(), "unban", key))

    def active(self) -> dict[str, float]:
        now = self.clock()
        for key in [key for key, until in self._until.items() if until <= now]:
            del self._until[key]
        return {key: until - now for key, until in self._until.items()}

    def stop(self) -> None:
        self.actions.append(EnforcementAction(self.clock(), "stop"))

    def remove(self) -> None:
        self._until.clear()
        self.actions.append(EnforcementAction(self.clock(), "remove"))


ENFORCER_NAMES = ("nftables", "kamailio", "dry-run")


def build_enforcers(settings: ShieldSettings) -> list[Enforcer]:
    """The back-ends named in `settings.enforcers`; all of them replaced by one dry-run when `dry_run`."""
    unknown = [name for name in settings.enforcers if name not in ENFORCER_NAMES]
    if unknown:
        raise ValueError(f"shield.enforcers: unknown {unknown}; choose from {list(ENFORCER_NAMES)}")
    if settings.dry_run:
        return [DryRunEnforcer()]
    from phonewarden.shield.enforce_kamailio import KamailioEnforcer
    from phonewarden.shield.enforce_nft import NftEnforcer

    enforcers: list[Enforcer] = []
    for name in dict.fromkeys(settings.enforcers):
        if name == "nftables":
            enforcers.append(NftEnforcer(table=settings.nft_table, netns=settings.nft_netns))
        elif name == "kamailio":
            enforcers.append(
                KamailioEnforcer(rpc_url=settings.kamailio_rpc_url, htable=settings.kamailio_htable)
            )
        else:
            enforcers.append(DryRunEnforcer())
    return enforcers
