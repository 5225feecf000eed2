"""The hardening policy: one set of rules that audit checks and provisioning renders.

Each rule is data: which vendor key, which value is safe, what the phone does when the key is absent.
`render_setting` gives the exact line to write in the vendor's own syntax, so the fix an audit report
prints is the same text the provisioning guard puts into a config file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from phonewarden.store.models import Severity


class Vendor(StrEnum):
    YEALINK = "yealink"
    SNOM = "snom"
    GRANDSTREAM = "grandstream"
    POLY = "poly"
    FANVIL = "fanvil"


KNOWN_VENDORS = tuple(vendor.value for vendor in Vendor)

# Placeholder for an account (line) number in a key, e.g. "account.{n}.srtp_encryption".
ACCOUNT = "{n}"
# A `safe` value that must be a secret the operator chooses, never a constant written by us.
SECRET = "<secret>"


@dataclass(frozen=True)
class Setting:
    """One vendor key of a rule and its safe value."""

    key: str
    safe: str
    # Values that also pass (compared case-insensitively); `safe` always passes.
    accepted: tuple[str, ...] = ()
    # What the phone does when the key is absent, when the vendor documents it; None = undecidable.
    default: str | None = None
    # False when the key or value comes only from secondary sources: "needs lab verification".
    verified: bool = True

    def passes(self, value: str) -> bool:
        allowed = {self.safe.lower(), *(v.lower() for v in self.accepted)}
        return value.strip().lower() in allowed


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: Severity
    why: str
    telekom: str  # item of the Telekom guide (seed 002) this rule serves, "" when none
    standards: tuple[str, ...]
    # Per vendor: the keys that together make the phone safe (all must pass).
    settings: Mapping[Vendor, tuple[Setting, ...]] = field(default_factory=dict)
    # What the network probe does for this rule, "" when it is config-only.
    probe: str = ""
    # The fix in words, for vendors without a known key and for findings no config line fixes.
    advice: str = ""

    def settings_for(self, vendor: Vendor) -> tuple[Setting, ...]:
        return self.settings.get(vendor, ())

    def remediation(self, vendor: Vendor | None, account: int | None = None) -> str:
        """The exact fix for this vendor: the lines to write, or the generic advice when no key is known."""
        settings = self.settings_for(vendor) if vendor is not None else ()
        if vendor is None or not settings:
            return self.title_fix
        lines = [render_setting(vendor, setting, account) for setting in settings]
        unverified = any(not setting.verified for setting in settings)
        suffix = " (value from secondary sources: verify on one phone first)" if unverified else ""
        return "set " + "; ".join(lines) + suffix

    def to_json(self) -> dict[str, Any]:
        """The rule as the CLI's `rules --json` and the API's /rules give it."""
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity.value,
            "why": self.why,
            "telekom": self.telekom,
            "standards": list(self.standards),
            "fix": {vendor.value: self.remediation(vendor) for vendor in self.settings},
            "probe": self.probe,
        }

    @property
    def title_fix(self) -> str:
        if self.advice:
            return self.advice
        return f"{self.title} in the phone's web UI (no configuration key is known for this vendor)"


def render_setting(
    vendor: Vendor, setting: Setting, account: int | None = None, value: str | None = None
) -> str:
    """One setting as it is written in the vendor's config format."""
    key = setting.key.replace(ACCOUNT, str(account if account is not None else 1))
    shown = setting.safe if value is None else value
    if vendor is Vendor.YEALINK:
        return f"{key} = {shown}"
    if vendor is Vendor.SNOM:
        name, index = _split_snom_index(key)
        idx = f' idx="{index}"' if index else ""
        return f'<{name}{idx} perm="R">{shown}</{name}>'
    if vendor is Vendor.POLY:
        return f'{key}="{shown}"'
    # Grandstream P-values / named keys and Fanvil elements: the last path part is the element.
    element = key.rsplit(".", 1)[-1] if vendor is Vendor.FANVIL else key
    if vendor is Vendor.GRANDSTREAM and not key.startswith("P"):
        return f'<item name="{key}"><value>{shown}</value></item>'
    return f"<{element}>{shown}</{element}>"


def _split_snom_index(key: str) -> tuple[str, str]:
    stripped = key.rstrip("0123456789")
    return stripped, key[len(stripped) :]


def rule(rule_id: str) -> Rule:
    """The rule with this id; KeyError names the known ids."""
    from phonewarden.audit.policy_rules import RULES

    for candidate in RULES:
        if candidate.id == rule_id:
            return candidate
    raise KeyError(f"no audit rule {rule_id!r}; known: {', '.join(r.id for r in RULES)}")


def rules() -> tuple[Rule, ...]:
    from phonewarden.audit.policy_rules import RULES

    return RULES
