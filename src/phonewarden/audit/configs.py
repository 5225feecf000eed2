"""Vendor config readers: one file in, a `PhoneConfig` (key -> value, with line numbers) out.

Formats: Yealink `.cfg` (key = value, `static.` keys, `%NULL%` = empty), Snom XML settings and the
old text form (`key$: value`, `key: value` or `key=value`), Grandstream XML (P-values in config v1,
named items in v2) and plain `Pnnn = value` files, Poly `polycomConfig` XML attributes, Fanvil
`VOIP_CONFIG_FILE` XML. The vendor is recognised from the content, never from the file name alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from phonewarden.audit.config_xml import XmlEntry, parse_xml_entries
from phonewarden.audit.policy import KNOWN_VENDORS, Vendor

MAX_CONFIG_BYTES = 4 * 1024 * 1024
YEALINK_NULL = "%NULL%"


class ConfigError(Exception):
    """A file that cannot be audited; the message names the file and what is wrong."""


@dataclass
class PhoneConfig:
    path: Path
    vendor: Vendor
    values: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    # Keys written more than once keep every value (Yealink writes one user_password line per user).
    repeated: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    model: str | None = None

    def get(self, key: str) -> str | None:
        """The value of `key`; Yealink keys are also found with or without their `static.` prefix."""
        if key in self.values:
            return self.values[key]
        if self.vendor is Vendor.YEALINK:
            other = key.removeprefix("static.") if key.startswith("static.") else f"static.{key}"
            return self.values.get(other)
        return None

    def where(self, key: str) -> str:
        """`file:line` of a key, for the report's "line to change"."""
        line = (
            self.lines.get(key)
            or self.lines.get(key.removeprefix("static."))
            or self.lines.get(f"static.{key}")
        )
        return f"{self.path}:{line}" if line else str(self.path)

    def accounts(self, pattern: str) -> dict[int, str]:
        """Values of an account key pattern with `{n}`, e.g. `account.{n}.password` -> {1: "..."}."""
        regex = re.compile("^" + re.escape(pattern).replace(re.escape("{n}"), r"(\d+)") + "$")
        found: dict[int, str] = {}
        for key, value in self.values.items():
            match = regex.match(key)
            if match:
                found[int(match.group(1))] = value
        return dict(sorted(found.items()))


def read_config(path: Path) -> PhoneConfig:
    """Read one config file; ConfigError names the file and, for an unknown format, the known vendors."""
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"{path}: {size} bytes is too large for a phone config (limit {MAX_CONFIG_BYTES})"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start}); encrypted configs cannot be audited"
        ) from None
    return parse_config_text(path, text)


def parse_config_text(path: Path, text: str) -> PhoneConfig:
    stripped = text.lstrip()
    if stripped.startswith("<"):
        return _from_xml(path, text)
    if stripped.startswith("#!version:") or _looks_like_yealink(text):
        return _read_yealink(path, text)
    if _looks_like_snom_text(text):
        return _read_key_values(path, text, Vendor.SNOM, _SNOM_LINE)
    if _looks_like_grandstream_text(text):
        return _read_key_values(path, text, Vendor.GRANDSTREAM, _GS_LINE)
    raise ConfigError(unknown_vendor_message(path))


def unknown_vendor_message(path: Path) -> str:
    return f"{path}: not a config of a known vendor (known: {', '.join(KNOWN_VENDORS)})"


_YEALINK_LINE = re.compile(r"^\s*([A-Za-z][\w.\-\[\]]*)\s*=\s?(.*?)\s*$")
_YEALINK_PREFIXES = ("account.", "static.", "features.", "phone_setting.", "sip.", "linekey.", "voice.")
_SNOM_LINE = re.compile(r"^\s*([A-Za-z_][\w\-]*?)([!$&]?)\s*[:=]\s?(.*?)\s*$")
_GS_LINE = re.compile(r"^\s*(P\d+)\s*=\s?(.*?)\s*$")


def _looks_like_yealink(text: str) -> bool:
    keys = [m.group(1) for line in text.splitlines()[:200] if (m := _YEALINK_LINE.match(line))]
    return bool(keys) and sum(k.startswith(_YEALINK_PREFIXES) for k in keys) * 2 >= len(keys)


def _looks_like_snom_text(text: str) -> bool:
    return any(
        re.match(
            r"^\s*(user_host\d*|setting_server|http_pass|admin_mode_password|update_policy)[!$&]?\s*[:=]",
            line,
        )
        for line in text.splitlines()[:500]
    )


def _looks_like_grandstream_text(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return bool(lines) and all(_GS_LINE.match(line) for line in lines[:50])


def _read_yealink(path: Path, text: str) -> PhoneConfig:
    config = PhoneConfig(path, Vendor.YEALINK)
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _YEALINK_LINE.match(line)
        if match is None:
            raise ConfigError(f"{path}:{number}: not a `key = value` line: {line.strip()[:80]!r}")
        key, value = match.group(1), match.group(2)
        value = "" if value == YEALINK_NULL else value
        config.values[key] = value
        config.lines[key] = number
        config.repeated.setdefault(key.removeprefix("static."), []).append((value, number))
    return config


def _read_key_values(path: Path, text: str, vendor: Vendor, pattern: re.Pattern[str]) -> PhoneConfig:
    config = PhoneConfig(path, vendor)
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith(("#", ";", "<")):
            continue
        match = pattern.match(line)
        if match is None:
            raise ConfigError(f"{path}:{number}: not a `key: value` line: {line.strip()[:80]!r}")
        key, value = match.group(1), match.group(match.lastindex or 2)
        config.values[key] = value
        config.lines[key] = number
    return config


def _from_xml(path: Path, text: str) -> PhoneConfig:
    root, entries = parse_xml_entries(path, text)
    vendor = {
        "settings": Vendor.SNOM,
        "phone-settings": Vendor.SNOM,
        "gs_provision": Vendor.GRANDSTREAM,
        "polycomConfig": Vendor.POLY,
        "PHONE_CONFIG": Vendor.POLY,
        "VOIP_CONFIG_FILE": Vendor.FANVIL,
    }.get(root)
    if vendor is None:
        raise ConfigError(
            f"{path}: XML root <{root}> is not a phone config of a known vendor "
            f"(known: {', '.join(KNOWN_VENDORS)})"
        )
    config = PhoneConfig(path, vendor)
    for entry in entries:
        _add_xml_entry(config, entry)
    return config


def _add_xml_entry(config: PhoneConfig, entry: XmlEntry) -> None:
    if config.vendor is Vendor.SNOM:
        if not entry.is_leaf or "phone-settings" not in entry.path[:-1]:
            return  # function keys, phone book: not settings
        key = entry.path[-1] + entry.attributes.get("idx", "")
        _put(config, key, entry.text, entry.line)
    elif config.vendor is Vendor.GRANDSTREAM:
        name = entry.attributes.get("name")
        if entry.path[-1] == "value" and len(entry.path) >= 2 and entry.parent_name:
            _put(config, entry.parent_name, entry.text, entry.line)
        elif entry.path[-1] == "item" and name and entry.text.strip():
            _put(config, name, entry.text, entry.line)
        elif re.fullmatch(r"P\d+", entry.path[-1]) or entry.path[-1] == "mac":
            _put(config, entry.path[-1], entry.text, entry.line)
    elif config.vendor is Vendor.POLY:
        for attribute, value in entry.attributes.items():
            _put(config, attribute, value, entry.line)
    elif entry.is_leaf and len(entry.keyed_path) > 1:  # Fanvil: list entries named by <Name> or <ID>
        _put(config, ".".join(entry.keyed_path[1:]), entry.text, entry.line)


# Grandstream config v2 names -> the P-value the policy uses, with value translation where they differ.
_GS_V2_ALIASES: dict[str, tuple[str, dict[str, str]]] = {
    "users.admin.password": ("P2", {}),
    "users.user.password": ("P196", {}),
    "account.1.sip.transport": ("P130", {"udp": "0", "tcp": "1", "tlsortcp": "2", "tls": "2"}),
    "account.1.sip.password": ("P34", {}),
}


def _put(config: PhoneConfig, key: str, value: str, line: int) -> None:
    config.values[key] = value.strip()
    config.lines[key] = line
    alias = _GS_V2_ALIASES.get(key) if config.vendor is Vendor.GRANDSTREAM else None
    if alias is not None:
        p_value, translate = alias
        config.values[p_value] = translate.get(value.strip().lower(), value.strip())
        config.lines[p_value] = line
