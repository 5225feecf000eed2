"""The device inventory: which devices to watch and which of their identifiers must not leave.

Read from JSON (a list of objects) or TOML (`[[device]]` tables, the same fields). Every identifier is
validated with python-stdnum so a typo is reported at load time, naming the entry and the field,
instead of silently never matching.
"""

from __future__ import annotations

import ipaddress
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stdnum import imei as std_imei
from stdnum import imsi as std_imsi
from stdnum import luhn
from stdnum import mac as std_mac
from stdnum.exceptions import ValidationError

# Fields that hold one value or a list of values (phones have two SIM slots, two IMEIs, two MACs).
IDENTIFIER_FIELDS = ("imei", "imsi", "iccid", "msisdn", "mac", "serial", "sip_user", "cell_id", "meid")
KNOWN_FIELDS = frozenset({"name", "kind", "ip", *IDENTIFIER_FIELDS})


class InventoryError(ValueError):
    """A device file that cannot be used; the message names the file, the entry and the field."""


@dataclass(slots=True)
class Device:
    name: str
    kind: str = ""
    ips: list[str] = field(default_factory=list)
    identifiers: dict[str, list[str]] = field(default_factory=dict)  # kind -> canonical values

    @property
    def macs(self) -> list[str]:
        return self.identifiers.get("mac", [])

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "kind": self.kind, "ip": list(self.ips)}
        data.update({key: list(values) for key, values in self.identifiers.items()})
        return data


def _listify(value: Any, where: str) -> list[str]:
    values = value if isinstance(value, list) else [value]
    result = []
    for item in values:
        if isinstance(item, int) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str) or not item.strip():
            raise InventoryError(f"{where}: expected a non-empty string or a list of them, got {item!r}")
        result.append(item.strip())
    return result


def canonical(kind: str, value: str) -> str:
    """The form an identifier is matched in; raises ValueError saying what is wrong with it."""
    try:
        if kind == "imei":
            return str(std_imei.validate(value))  # 15 digits with Luhn, or a 16-digit IMEISV
        if kind == "imsi":
            return str(std_imsi.validate(value))
        if kind == "iccid":
            digits = value.replace(" ", "").replace("-", "")
            if not digits.isdigit() or not 18 <= len(digits) <= 22 or not digits.startswith("89"):
                raise ValueError("an ICCID is 18-22 digits starting with 89")
            luhn.validate(digits)
            return digits
        if kind == "mac":
            return str(std_mac.validate(value))  # lower-case, colon separated
        if kind == "msisdn":
            written = value.replace(" ", "").replace("-", "")
            digits = written[1:] if written.startswith("+") else written.removeprefix("00")
            if not digits.isdigit() or not 6 <= len(digits) <= 15:
                raise ValueError("an MSISDN is 6-15 digits in international form, optionally with + or 00")
            return digits  # E.164 without +: variants add the +49… and 0049… spellings
        if kind in ("cell_id", "meid", "serial", "sip_user"):
            if len(value) < 4:
                raise ValueError("shorter than 4 characters: it would match everywhere")
            return value
    except ValidationError as exc:
        raise ValueError(str(exc) or type(exc).__name__) from exc
    raise ValueError(f"unknown identifier kind {kind!r}")


def parse_device(entry: Any, where: str) -> Device:
    if not isinstance(entry, dict):
        raise InventoryError(f"{where}: expected an object with at least 'name', got {type(entry).__name__}")
    unknown = set(entry) - KNOWN_FIELDS
    if unknown:
        raise InventoryError(f"{where}: unknown field(s) {sorted(unknown)}; known: {sorted(KNOWN_FIELDS)}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InventoryError(f"{where}: 'name' is required and must be a non-empty string")
    where = f"{where} ({name})"
    kind = entry.get("kind", "")
    if not isinstance(kind, str):
        raise InventoryError(f"{where}: field 'kind' must be a string")
    ips = []
    for text in _listify(entry["ip"], f"{where}: field 'ip'") if "ip" in entry else []:
        try:
            ips.append(str(ipaddress.ip_address(text)))
        except ValueError:
            raise InventoryError(f"{where}: field 'ip': {text!r} is not an IP address") from None
    identifiers: dict[str, list[str]] = {}
    for key in IDENTIFIER_FIELDS:
        if key not in entry:
            continue
        values = []
        for text in _listify(entry[key], f"{where}: field {key!r}"):
            try:
                values.append(canonical(key, text))
            except ValueError as exc:
                raise InventoryError(f"{where}: field {key!r}: {text!r} is not valid: {exc}") from None
        identifiers[key] = values
    if not ips and "mac" not in identifiers:
        raise InventoryError(f"{where}: give 'ip' or 'mac' so traffic can be attributed to the device")
    return Device(name=name.strip(), kind=kind, ips=ips, identifiers=identifiers)


def parse_inventory(entries: Any, source: str) -> list[Device]:
    if not isinstance(entries, list):
        raise InventoryError(f"{source}: expected a list of devices")
    devices = [parse_device(entry, f"{source}: device #{index + 1}") for index, entry in enumerate(entries)]
    seen: dict[str, str] = {}
    for device in devices:
        if device.name in seen:
            raise InventoryError(f"{source}: device name {device.name!r} appears twice")
        seen[device.name] = device.name
        for ip in device.ips:
            owner = seen.get(f"ip:{ip}")
            if owner:
                raise InventoryError(f"{source}: ip {ip} is given to both {owner!r} and {device.name!r}")
            seen[f"ip:{ip}"] = device.name
    return devices


def load_inventory(path: Path) -> list[Device]:
    """Devices from a .json or .toml file (TOML: an array of tables `[[device]]`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InventoryError(f"{path}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise InventoryError(f"{path}: not UTF-8 text") from None
    if path.suffix.lower() == ".toml":
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InventoryError(f"{path}: not valid TOML: {exc}") from None
        return parse_inventory(document.get("device", []), str(path))
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InventoryError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}") from None
    return parse_inventory(document, str(path))
