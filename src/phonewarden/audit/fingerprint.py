"""Vendor, model and firmware from SIP User-Agent/Server headers and To-tag shapes.

Formats from the reference notes §6.1: `Yealink SIP-T46S 66.85.0.5`, `snomD785/10.1.84.12`,
`Grandstream GXP1625 1.0.2.25`, `PolycomVVX-VVX_400-UA/4.1.4.7430`, `Fanvil X4 2.10.2.6887`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Fingerprint:
    vendor: str | None = None
    model: str | None = None
    firmware: str | None = None
    source: str = ""  # the header text it came from, or "to-tag"


_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("yealink", re.compile(r"\bYealink\s+(?:SIP(?:\s+VP)?-)?([\w-]+)\s+(\d+(?:\.\d+){2,3})", re.I)),
    ("snom", re.compile(r"\bsnom[-_ ]?([A-Za-z]?\d{3}[A-Za-z]?)(?:-SIP)?[/ ](\d[\w.]*)", re.I)),
    (
        "grandstream",
        re.compile(
            r"\bGrandstream\s+(?:Model\s+HW\s+)?([A-Z]{2,4}\d{3,4}\w*)\s+(?:V[\w.]+\s+SW\s+)?(\d+(?:\.\d+)+)",
            re.I,
        ),
    ),
    ("poly", re.compile(r"\bPolycom([A-Za-z]*)-([\w]+)-UA/(\d+(?:\.\d+)+)", re.I)),
    ("poly", re.compile(r"\bPoly\s+([\w ]+?)\s+(\d+(?:\.\d+)+)", re.I)),
    ("fanvil", re.compile(r"\bFanvil\s+([\w]+)\s+(\d+(?:\.\d+)+)", re.I)),
)


def from_header(text: str | None) -> Fingerprint:
    """Parse one User-Agent or Server value; an unknown product gives an empty Fingerprint."""
    if not text:
        return Fingerprint()
    text = text.strip()[:512]
    for vendor, pattern in _PATTERNS:
        match = pattern.search(text)
        if match is None:
            continue
        groups = match.groups()
        if vendor == "poly" and len(groups) == 3:
            return Fingerprint(vendor, groups[1].replace("_", " ").upper(), groups[2], text)
        return Fingerprint(vendor, groups[0].upper(), groups[1], text)
    if re.match(r"^snom\b", text, re.I):
        return Fingerprint("snom", None, None, text)
    return Fingerprint()


def vendor_from_to_tag(tag: str | None) -> str | None:
    """Weak hint from the To-tag shape (sippts heuristics); used only when no header names a vendor."""
    if not tag:
        return None
    if tag.startswith("plcm_"):
        return "poly"
    if re.fullmatch(r"\d{8,10}", tag):
        return "yealink"  # also Fanvil and DrayTek: a hint, not an identification
    if re.fullmatch(r"[a-f0-9]{16}", tag):
        return "grandstream"
    return None
