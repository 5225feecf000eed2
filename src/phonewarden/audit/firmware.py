"""Firmware versions and the shipped advisory table (data/advisories.toml).

Yealink numbers firmware `<hw-family>.<release>.<minor>.<build>` (66.84.0.125 on a T42S): the first
field names the hardware, so advisories write `x.84.0.53` and only fields 2-4 are compared.
Other vendors use plain dotted numbers (Snom 10.1.84.12, Grandstream 1.0.4.152, Poly 7.2.8).
"""

from __future__ import annotations

import operator
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from phonewarden.audit.policy import KNOWN_VENDORS

ADVISORIES_FILE = Path(__file__).parent / "data" / "advisories.toml"
_VERSION = re.compile(r"^(x|\d+)(\.\d+)*$")
_CONSTRAINT = re.compile(r"(<=|>=|<|>|=)\s*([x\d][\w.]*)")
_OPERATORS: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "=": operator.eq,
}


class AdvisoryDataError(Exception):
    """The advisory file is malformed; the message names the entry and field."""


def version_key(version: str, vendor: str) -> tuple[int, ...] | None:
    """Comparable tuple, or None when `version` is not a dotted number (e.g. snom821/873_19_2013)."""
    version = version.strip()
    if not _VERSION.match(version):
        return None
    parts = version.split(".")
    if vendor == "yealink":
        if len(parts) != 4:
            return None
        parts = parts[1:]  # the hardware family is not part of the release order
    elif parts[0] == "x":
        return None
    return tuple(int(part) for part in parts)


def normalize_model(model: str) -> str:
    model = model.strip().upper()
    for prefix in ("SIP-", "SIP ", "SNOM", "POLYCOM", "GRANDSTREAM "):
        model = model.removeprefix(prefix)
    return model.strip()


@dataclass(frozen=True)
class Advisory:
    id: str
    vendor: str
    models: re.Pattern[str]
    affected: tuple[tuple[str, tuple[int, ...]], ...]  # () = every version
    fixed: str
    cves: tuple[str, ...]
    summary: str
    source: str
    date: str
    verified: bool

    def matches(self, vendor: str, model: str, firmware: str) -> bool | None:
        """True/False, or None when the version cannot be compared."""
        if vendor != self.vendor or not self.models.fullmatch(normalize_model(model)):
            return False
        if not self.affected:
            return True
        key = version_key(firmware, vendor)
        if key is None or (vendor == "yealink" and any(len(key) != len(bound) for _, bound in self.affected)):
            return None
        return all(_OPERATORS[op](*_padded(key, bound)) for op, bound in self.affected)


@dataclass(frozen=True)
class Minimum:
    vendor: str
    models: re.Pattern[str]
    version: str
    source: str
    date: str


def _required(entry: dict[str, object], field: str, where: str) -> str:
    value = entry.get(field)
    if not isinstance(value, str):
        raise AdvisoryDataError(f"{where}: field {field!r} must be a string, got {value!r}")
    return value


def _parse_range(text: str, vendor: str, where: str) -> tuple[tuple[str, tuple[int, ...]], ...]:
    if text.strip() == "*":
        return ()
    found = _CONSTRAINT.findall(text)
    bounds = []
    for op, version in found:
        key = version_key(version, vendor)
        if key is None:
            raise AdvisoryDataError(f"{where}: version {version!r} in affected {text!r} is not comparable")
        bounds.append((op, key))
    if not bounds:
        raise AdvisoryDataError(f"{where}: affected {text!r} has no constraint like '< 1.2.3' or '*'")
    return tuple(bounds)


def _pattern(text: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(text, re.IGNORECASE)
    except re.error as exc:
        raise AdvisoryDataError(f"{where}: models {text!r} is not a regular expression: {exc}") from None


def parse_advisories(text: str, name: str = "advisories") -> tuple[tuple[Advisory, ...], tuple[Minimum, ...]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AdvisoryDataError(f"{name}: not valid TOML: {exc}") from None
    advisories = []
    for index, entry in enumerate(data.get("advisory", [])):
        where = f"{name}: advisory #{index + 1} ({entry.get('id', '?')})"
        vendor = _required(entry, "vendor", where)
        if vendor not in KNOWN_VENDORS:
            raise AdvisoryDataError(f"{where}: vendor {vendor!r} is not one of {', '.join(KNOWN_VENDORS)}")
        for field in ("source", "date"):
            if not _required(entry, field, where):
                raise AdvisoryDataError(
                    f"{where}: field {field!r} is empty; every entry carries source and date"
                )
        cves = entry.get("cves", [])
        if not isinstance(cves, list) or not all(isinstance(c, str) and c.startswith("CVE-") for c in cves):
            raise AdvisoryDataError(f"{where}: cves must be a list of 'CVE-…' ids")
        advisories.append(
            Advisory(
                id=_required(entry, "id", where),
                vendor=vendor,
                models=_pattern(_required(entry, "models", where), where),
                affected=_parse_range(_required(entry, "affected", where), vendor, where),
                fixed=_required(entry, "fixed", where),
                cves=tuple(cves),
                summary=_required(entry, "summary", where),
                source=entry["source"],
                date=entry["date"],
                verified=bool(entry.get("verified", False)),
            )
        )
    minimums = []
    for index, entry in enumerate(data.get("minimum", [])):
        where = f"{name}: minimum #{index + 1}"
        vendor = _required(entry, "vendor", where)
        version = _required(entry, "version", where)
        if version_key(version, vendor) is None:
            raise AdvisoryDataError(f"{where}: version {version!r} is not comparable")
        minimums.append(
            Minimum(
                vendor,
                _pattern(_required(entry, "models", where), where),
                version,
                _required(entry, "source", where),
                _required(entry, "date", where),
            )
        )
    return tuple(advisories), tuple(minimums)


@cache
def shipped_advisories() -> tuple[tuple[Advisory, ...], tuple[Minimum, ...]]:
    return parse_advisories(ADVISORIES_FILE.read_text(encoding="utf-8"), str(ADVISORIES_FILE.name))


def is_older(firmware: str, minimum: str, vendor: str) -> bool | None:
    have, want = version_key(firmware, vendor), version_key(minimum, vendor)
    if have is None or want is None or (vendor == "yealink" and len(have) != len(want)):
        return None
    have, want = _padded(have, want)
    return have < want


def _padded(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """8.2.35 == 8.2.35.0: missing trailing fields count as zero."""
    width = max(len(a), len(b))
    return a + (0,) * (width - len(a)), b + (0,) * (width - len(b))
