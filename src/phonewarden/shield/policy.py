"""The only place that decides to block.

Inputs: findings (from detectors) and successes (from request<->response matching). Output: a `Decision`
per finding. Rules, in order:
1. never-block networks (settings and `shield allow`) are never banned;
2. sources that recently authenticated, or hold a registration, are trusted and not banned: many phones
   behind one NAT address succeed, so their burst is not an attack (FreePBX trusts 90 s after AMI
   SuccessfulAuth; here from the wire, for the registration's lifetime);
3. a finding below `medium` is reported, not acted on;
4. a source already banned keeps its ban (the reason is added: an "extend" decision);
5. otherwise ban for ban_s x factor^(repeat offences), capped at max_ban_s; one offence is forgotten per
   `decay_s` without a ban.
Dry-run: the same decisions, marked as not applied.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from phonewarden.core.records import iso_time
from phonewarden.core.windows import TtlMap
from phonewarden.shield.findings import SEVERITY_RANK, Finding
from phonewarden.shield.settings import ShieldSettings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Action = Literal["ban", "extend", "suppressed", "report"]


@dataclass(slots=True)
class Decision:
    action: Action
    source: str
    time: float
    duration_s: int = 0
    reasons: list[str] = field(default_factory=list)
    why: str = ""
    offences: int = 0
    dry_run: bool = False

    type = "ban"

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "type": "ban",
            "time": iso_time(self.time),
            "source": self.source,
            "duration_s": self.duration_s,
            "reasons": self.reasons,
            "offences": self.offences,
        }
        if self.dry_run:
            record["dry_run"] = True
        return record


@dataclass(slots=True)
class _Offender:
    offences: int  # bans so far, after decay
    until: float  # end of the current (or last) ban
    reasons: list[str]


def parse_network(text: str) -> Network:
    return ipaddress.ip_network(text.strip(), strict=False)


def covering(networks: list[Network], source: str) -> Network | None:
    """The first of `networks` that overlaps `source` (an address or a network such as an IPv6 /64)."""
    try:
        target: Any = parse_network(source)
    except ValueError:
        return None
    for net in networks:
        if net.version == target.version and (target.subnet_of(net) or net.subnet_of(target)):
            return net
    return None


class Policy:
    def __init__(self, settings: ShieldSettings, allowed: list[str] | None = None) -> None:
        self.settings = settings
        self.never_block: list[Network] = [parse_network(net) for net in settings.never_block]
        for net in allowed or []:
            self.allow(net)
        self.trusted: TtlMap[str, str] = TtlMap(settings.registration_trust_max_s, settings.max_sources)
        self.offenders: TtlMap[str, _Offender] = TtlMap(
            settings.max_ban_s + settings.decay_s * 8, settings.max_sources
        )
        self.suspects: TtlMap[str, bool] = TtlMap(settings.trust_after_auth_s, settings.max_sources)

    # --- positive signals ---------------------------------------------------------------------

    def allow(self, network: str) -> None:
        parsed = parse_network(network)
        if parsed not in self.never_block:
            self.never_block.append(parsed)

    def set_allowed(self, networks: list[str]) -> None:
        """Replace the `shield allow` networks by the store's current list (settings' never_block stay)."""
        self.never_block = [parse_network(net) for net in self.settings.never_block]
        for net in networks:
            self.allow(net)

    def never_blocked(self, source: str) -> Network | None:
        return covering(self.never_block, source)

    def note_success(self, source: str, now: float, why: str, lifetime_s: int | None = None) -> bool:
        """Trust `source` after a success; not if it is a suspect (a cracked password is no credential)."""
        if self.suspects.contains(source, now):
            return False
        seconds = self.settings.trust_after_auth_s
        if lifetime_s:
            seconds = max(seconds, min(lifetime_s, self.settings.registration_trust_max_s))
        # TtlMap has one ttl: store the wanted expiry and check it on read.
        self.trusted.set(source, f"{now + seconds}|{why}", now)
        return True

    def trust_reason(self, source: str, now: float) -> str | None:
        value = self.trusted.get(source, now)
        if value is None:
            return None
        until, _, why = value.partition("|")
        return why if float(until) > now else None

    # --- deciding -------------------------------------------------------------------------------

    def decide(self, finding: Finding) -> Decision:
        now, source = finding.time, finding.source
        reason = f"{finding.detector}: {finding.reason}"
        network = self.never_blocked(source)
        if network is not None:
            return Decision("suppressed", source, now, reasons=[reason], why=f"never-block network {network}")
        trust = self.trust_reason(source, now)
        if trust is not None and finding.severity != "critical":
            return Decision("suppressed", source, now, reasons=[reason], why=f"trusted: {trust}")
        self.suspects.set(source, True, now)
        if SEVERITY_RANK[finding.severity] < SEVERITY_RANK["medium"]:
            return Decision("report", source, now, reasons=[reason], why="severity below medium")
        offender = self.offenders.get(source, now)
        if offender is not None and offender.until > now:
            if reason not in offender.reasons:
                offender.reasons.append(reason)
            return Decision(
                "extend", source, now, max(1, int(offender.until - now)), list(offender.reasons),
                "already banned", offender.offences, self.settings.dry_run,
            )  # fmt: skip
        repeats = 0
        if offender is not None:
            repeats = max(0, offender.offences - int((now - offender.until) // self.settings.decay_s))
        base = self.settings.scanner_ban_s if finding.detector == "scanner" else self.settings.ban_s
        duration = min(self.settings.max_ban_s, math.ceil(base * self.settings.escalation_factor**repeats))
        self.offenders.set(source, _Offender(repeats + 1, now + duration, [reason]), now)
        return Decision(
            "ban",
            source,
            now,
            duration,
            [reason],
            f"offence {repeats + 1}",
            repeats + 1,
            self.settings.dry_run,
        )

    def forget(self, source: str, now: float) -> None:
        """An operator unbanned `source`: end its ban, keep its offence count for escalation."""
        offender = self.offenders.get(source, now)
        if offender is not None:
            offender.until = min(offender.until, now)

    def restore(self, source: str, offences: int, until: float, reasons: list[str], now: float) -> None:
        """Re-load a ban kept in the store (at start-up): a running one (`until` > now) or an ended one,
        whose offences still count for escalation."""
        self.offenders.set(source, _Offender(offences, until, list(reasons)), now)
