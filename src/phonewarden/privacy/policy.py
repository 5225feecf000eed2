"""Residency verdicts: does each device keep its data where the policy says?

Policies (`--policy`, repeatable): `eu` (EU/EEA only), `de` or any alpha-2 code (that country only),
`countries:DE,AT,CH` (an allow-list), `domains:snom.com,example.org` (vendor domains and their subdomains).
Only public destinations count: LAN and loopback traffic stays home. A flow whose country is unknown, or
whose address belongs to a cloud/CDN/anycast operator, makes the verdict `uncertain`, never `ok`. A domain
policy judges every name a destination was reached by: one address of a CDN serves many names, and a
single name outside the vendor's domains is a violation.
"""

from __future__ import annotations

from dataclasses import dataclass

from phonewarden.privacy.findings import Destination, Verdict

# EU member states + EEA (IS, LI, NO). Source: europa.eu country list and EFTA; checked 2026-11.
EU_EEA = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI NO".split()  # noqa: SIM905
)


class PolicyError(ValueError):
    """A policy text that cannot be understood; the message says which forms are accepted."""


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    countries: frozenset[str] = frozenset()
    domains: tuple[str, ...] = ()

    def judge(self, dest: Destination) -> str:
        """ok, violation or uncertain for one destination."""
        if self.domains:
            if self.outside(dest):
                return "violation"
            return "uncertain" if not dest.names or dest.hosts_dropped else "ok"
        if dest.country is None:
            return "uncertain"
        if dest.country in self.countries:
            return "uncertain" if dest.uncertain else "ok"
        return "uncertain" if dest.uncertain else "violation"

    def outside(self, dest: Destination) -> list[str]:
        """The destination's names that are not in the policy's domains (none for a country policy)."""
        if not self.domains:
            return []
        return [name for name in dest.names if not any(
            name == d or name.endswith("." + d) for d in self.domains)]  # fmt: skip


def parse_policy(text: str) -> Policy:
    raw = text.strip()
    lowered = raw.lower()
    if lowered in ("eu", "eea", "eu/eea"):
        return Policy("EU/EEA only", EU_EEA)
    if lowered.startswith("countries:"):
        codes = frozenset(code.strip().upper() for code in raw.split(":", 1)[1].split(",") if code.strip())
        if not codes or any(len(code) != 2 or not code.isalpha() for code in codes):
            raise PolicyError(f"policy {text!r}: expected countries:CC[,CC...] with ISO alpha-2 codes")
        return Policy("countries " + ",".join(sorted(codes)), codes)
    if lowered.startswith("domains:"):
        domains = tuple(d.strip().lower().strip(".") for d in raw.split(":", 1)[1].split(",") if d.strip())
        if not domains:
            raise PolicyError(f"policy {text!r}: expected domains:example.com[,example.org...]")
        return Policy("domains " + ",".join(domains), domains=domains)
    if len(raw) == 2 and raw.isalpha():
        return Policy(f"{raw.upper()} only", frozenset({raw.upper()}))
    raise PolicyError(
        f"policy {text!r} not understood; use eu, a country code (de), countries:DE,AT or domains:vendor.com"
    )


def verdicts(
    policy: Policy, destinations: list[Destination], devices: list[str], now: float
) -> list[Verdict]:
    """One verdict per device: violation if any flow breaks the policy, else uncertain if any may."""
    result = []
    for device in devices:
        verdict = Verdict(now, device, policy.name, "ok")
        judged = {"violation": [], "uncertain": []}  # type: dict[str, list[Destination]]
        for dest in destinations:
            if dest.device == device and dest.scope == "public":
                outcome = policy.judge(dest)
                if outcome != "ok":
                    judged[outcome].append(dest)
        for status in ("uncertain", "violation"):
            if judged[status]:
                verdict.status = status
        for dest in judged["violation"]:
            verdict.reasons.append(f"sent {dest.bytes_out} bytes to {_where(dest, policy.outside(dest))}")
        for dest in judged["uncertain"]:
            why = "cloud/CDN/anycast address" if dest.uncertain else "unknown country or host"
            verdict.reasons.append(f"{_where(dest)}: {why}")
        verdict.evidence = judged["violation"] + judged["uncertain"]
        result.append(verdict)
    return result


def _where(dest: Destination, names: list[str] | None = None) -> str:
    """Where a flow went. Bytes are counted per address: with several names, the address comes first and
    then the names that matter (those breaking a domain policy, else all of them)."""
    place = f"{dest.port} in {dest.country or 'an unknown country'}"
    every = dest.names
    if len(every) > 1:
        shown = names or every
        return f"{dest.address}:{place}, named {', '.join(shown)} (among {len(every)} names)"
    return f"{every[0]} ({dest.address}):{place}" if every else f"{dest.address}:{place}"
