"""Who is asking: the file a phone requests (vendor form, MAC) and what its User-Agent claims.

Request forms (last path segment, case-insensitive MAC of 12 hex digits):
  Yealink      y0000000000xx.cfg (common, no secrets), {mac}.cfg
  Snom         {mac}.xml, snom<model>-<MAC>.htm, snom<model>.htm (MAC only from the client certificate)
  Grandstream  cfg{mac}.xml, cfg{mac}
User-Agent formats (shared/reference/audit-and-provisioning.md §6.2, from wazo-provd plugins):
  Yealink SIP-T46S 66.86.0.15 00:15:65:4c:4c:26       (MAC when static.auto_provision.user_agent_mac.enable)
  Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5 000413922D24 SXM:0 UXM:0)
  Grandstream Model HW GXP2170 V1.1A SW 1.0.11.6 DevId c074ad273a10
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from phonewarden.audit.policy import Vendor

MAC_RE = re.compile(r"^[0-9a-f]{12}$")


class Kind(StrEnum):
    COMMON = "common"  # Yealink's model-wide file: no secrets
    DEVICE = "device"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Requested:
    kind: Kind
    vendor: Vendor | None
    mac: str | None  # normalized, None when the form names none
    model: str | None = None


@dataclass(frozen=True, slots=True)
class Agent:
    vendor: Vendor
    model: str
    firmware: str
    mac: str | None


_FORMS: tuple[tuple[re.Pattern[str], Vendor, Kind], ...] = (
    (re.compile(r"^y0{10}[0-9a-z]{2}\.cfg$"), Vendor.YEALINK, Kind.COMMON),
    (re.compile(r"^(?P<mac>[0-9a-f]{12})\.cfg$"), Vendor.YEALINK, Kind.DEVICE),
    (re.compile(r"^cfg(?P<mac>[0-9a-f]{12})(?:\.xml)?$"), Vendor.GRANDSTREAM, Kind.DEVICE),
    (re.compile(r"^(?P<mac>[0-9a-f]{12})\.xml$"), Vendor.SNOM, Kind.DEVICE),
    (re.compile(r"^snom(?P<model>[0-9a-z]+)-(?P<mac>[0-9a-f]{12})\.htm$"), Vendor.SNOM, Kind.DEVICE),
    (re.compile(r"^snom(?P<model>[0-9a-z]+)\.htm$"), Vendor.SNOM, Kind.DEVICE),
)


def normalize_mac(text: str) -> str:
    """12 lower-case hex digits from aa:bb:.., AA-BB-.. or aabb..; ValueError names the input."""
    cleaned = re.sub(r"[:\-.]", "", text.strip()).lower()
    if not MAC_RE.match(cleaned):
        raise ValueError(f"{text!r} is not a MAC address (12 hex digits, optionally separated by : - .)")
    return cleaned


def parse_path(path: str) -> Requested:
    name = path.rsplit("/", 1)[-1].lower()
    for pattern, vendor, kind in _FORMS:
        match = pattern.match(name)
        if match:
            groups = match.groupdict()
            return Requested(kind, vendor, groups.get("mac"), groups.get("model"))
    return Requested(Kind.UNKNOWN, None, None)


_YEALINK = re.compile(r"^yealink\s+(?:sip(?: vp)?-)?(\S+)\s+([\d.]+)(?:\s+([0-9a-f:]{17}))?\s*$", re.I)
_SNOM = re.compile(r"snom([0-9a-z]+)-sip\s+([\d.]+)(?:.*?\b([0-9a-f]{12})\b)?", re.I)
_GRANDSTREAM = re.compile(
    r"^grandstream\s+model\s+hw\s+(\S+).*?\bsw\s+([\d.]+)(?:.*?devid\s+([0-9a-f]{12}))?", re.I
)


def parse_agent(user_agent: str) -> Agent | None:
    """The vendor, model, firmware and MAC a provisioning User-Agent claims; None when unrecognised."""
    text = user_agent.strip()[:512]
    for pattern, vendor in (
        (_YEALINK, Vendor.YEALINK),
        (_SNOM, Vendor.SNOM),
        (_GRANDSTREAM, Vendor.GRANDSTREAM),
    ):
        match = pattern.search(text)
        if match:
            mac = match.group(3)
            return Agent(vendor, match.group(1), match.group(2), normalize_mac(mac) if mac else None)
    return None


def same_model(claimed: str, enrolled: str) -> bool:
    """T46S == SIP-T46S, D785 == snomD785 (case-insensitive)."""

    def core(text: str) -> str:
        text = text.strip().upper()
        for prefix in ("SIP-", "SNOM", "VP-"):
            text = text.removeprefix(prefix)
        return text

    return core(claimed) == core(enrolled)
