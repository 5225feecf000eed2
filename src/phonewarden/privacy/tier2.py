"""Tier 2: identifiers the inventory does not know, found by shape *and* a field name beside them.

Structure alone is useless (10% of random 15-digit strings pass Luhn; 24% pass IMSI MCC/MNC), so a value
counts only when it stands right after a key naming it (`"IMEI1":"…"`, `imsi=…`, `MACID: …`) and passes
python-stdnum's validation: IMEI Luhn + TAC, IMSI with a known MCC/MNC, ICCID 89… + Luhn, MAC with a
registered OUI (stdnum's IEEE table) that is neither multicast nor locally administered. Cell IDs have no
structure: a number after a cell-ID key is reported as such, still labelled low confidence.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import lru_cache

from stdnum import imei as std_imei
from stdnum import imsi as std_imsi
from stdnum import luhn
from stdnum import mac as std_mac

# A whole key (not the tail of a longer word: that would make the search quadratic in long base64 or
# hex runs), then up to 3 quote/space chars, `:` or `=`, up to 3 more, then the value. Possessive: the
# separator can never be a key character, so giving back key characters can never help.
_KEY_VALUE = re.compile(
    rb"(?<![A-Za-z0-9_\-])([A-Za-z][A-Za-z0-9_\-]*+)"
    rb"[\"' ]{0,3}[:=][\"' ]{0,3}([0-9A-Fa-f][0-9A-Fa-f:\-]{5,23})"
)
MAX_FIELD_NAME = 32  # a longer key is reported by its end, where the field's own name usually is
_KEY_KINDS = (("iccid", "iccid"), ("imsi", "imsi"), ("imei", "imei"), ("cellid", "cell_id"),
              ("cell_id", "cell_id"), ("macid", "mac"), ("macaddr", "mac"), ("mac_address", "mac"),
              ("mac", "mac"))  # fmt: skip
_BASE64_BODY = re.compile(rb"^[A-Za-z0-9+/=\r\n]{16,}$")


@dataclass(frozen=True, slots=True)
class UnknownIdentifier:
    identifier: str
    value: str
    field_name: str
    start: int
    end: int


def key_kind(key: str) -> str | None:
    lowered = key.lower()
    for token, kind in _KEY_KINDS:
        if token in lowered:
            return kind
    return None


@lru_cache(maxsize=8192)  # stdnum's OUI lookup scans its table: ~9 ms a call
def valid(kind: str, value: str) -> bool:
    if kind == "imei":
        return len(value) == 15 and std_imei.is_valid(value) and value[:2] != "00"
    if kind == "imsi":
        if not (value.isdigit() and 14 <= len(value) <= 15):
            return False
        try:
            return "cc" in std_imsi.info(value)  # test networks (001, 999) have no country code
        except Exception:  # stdnum raises its own ValidationError subclasses for unknown MCC/MNC
            return False
    if kind == "iccid":
        return value.isdigit() and 18 <= len(value) <= 20 and value.startswith("89") and luhn.is_valid(value)
    if kind == "mac":
        if not std_mac.is_valid(value):
            return False
        if std_mac.is_multicast(value) or std_mac.is_locally_administered(value):
            return False
        try:
            return bool(std_mac.get_manufacturer(value))
        except Exception:  # unregistered OUI
            return False
    if kind == "cell_id":
        return value.isdigit() and 3 <= len(value) <= 11
    return False


def find_unknown(data: bytes) -> list[UnknownIdentifier]:
    """Field-named, validated identifiers in `data` (tier 2)."""
    found: list[UnknownIdentifier] = []
    lowered = data.lower()  # every key _KEY_KINDS knows contains one of these (a regex is 5x slower)
    if not (b"mac" in lowered or b"imei" in lowered or b"imsi" in lowered or b"iccid" in lowered
            or b"cell" in lowered):  # fmt: skip
        return found
    for match in _KEY_VALUE.finditer(data):
        key = match.group(1)[-MAX_FIELD_NAME:].decode("ascii")
        kind = key_kind(key)
        if kind is None:
            continue
        value = match.group(2).decode("ascii").strip(":-")
        if kind == "mac":
            value = value.lower().replace("-", ":")
        if valid(kind, value):
            found.append(UnknownIdentifier(kind, value, key, match.start(2), match.end(2)))
    return found


def decoded_base64(body: bytes) -> bytes | None:
    """The decoded body when the whole body is base64 (the ZZHC activation POST), else None."""
    if not _BASE64_BODY.match(body):
        return None
    try:
        return base64.b64decode(body.replace(b"\r", b"").replace(b"\n", b""), validate=True)
    except (binascii.Error, ValueError):
        return None
