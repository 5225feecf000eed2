"""Every byte form in which a known identifier can leave a device: the tier-1 patterns.

Plain text (and the usual MAC spellings), URL encoding, base64 in all three alignments (a value inside a
larger base64 blob encodes differently depending on its offset mod 3, so each alignment keeps only the
characters that depend on the value alone), hex in both cases, TBCD/reversed-nibble for the digit
strings 3GPP protocols carry that way, and MD5/SHA-1/SHA-256 of every plain spelling.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from urllib.parse import quote

MIN_PATTERN_BYTES = 6  # shorter fragments would match random traffic
TBCD_KINDS = frozenset({"imsi", "imei", "iccid", "msisdn"})
HASHES = ("md5", "sha1", "sha256")


@dataclass(frozen=True, slots=True)
class Variant:
    pattern: bytes
    encoding: str  # plain, url, base64, hex, bcd, md5, sha1+base64, ...


def plain_spellings(kind: str, value: str) -> list[str]:
    """The text forms a value is commonly written in (canonical first)."""
    if kind == "mac":
        octets = value.split(":")
        forms = [":".join(octets), "-".join(octets), "".join(octets)]
        return _unique([*forms, *(form.upper() for form in forms)])
    if kind == "msisdn":
        return [value, "+" + value, "00" + value]  # E.164 without and with +, and the 00 international prefix
    return [value]


def base64_fragments(data: bytes) -> list[str]:
    """The part of base64(x + data + y) that is the same for every x of length 0, 1, 2 and any y."""
    fragments = []
    for lead in range(3):
        encoded = base64.b64encode(b"\0" * lead + data).decode("ascii").rstrip("=")
        first = -(-8 * lead // 6)  # first character made only of the value's bits
        last = 8 * (lead + len(data)) // 6  # characters before this are complete
        fragments.append(encoded[first:last])
    return fragments


def tbcd(digits: str) -> list[bytes]:
    """Digits two per byte, low nibble first (3GPP TBCD), odd length padded with F; plus the
    mobile-identity form whose first byte carries the first digit beside the odd/even + type flags."""
    if not digits.isdigit():
        return []
    nibbles = [int(d) for d in digits]
    padded = nibbles + [0xF] * (len(nibbles) % 2)
    forms = [bytes(padded[i] | padded[i + 1] << 4 for i in range(0, len(padded), 2))]
    rest = nibbles[1:] + [0xF] * (len(nibbles[1:]) % 2)
    flags = 0x9 if len(nibbles) % 2 else 0x1  # type IMSI(1), odd bit 0x8
    packed = bytes(rest[i] | rest[i + 1] << 4 for i in range(0, len(rest), 2))
    forms.append(bytes([nibbles[0] << 4 | flags]) + packed)
    return forms


def variants(kind: str, value: str) -> list[Variant]:
    """All tier-1 patterns of one identifier value, without duplicates (the first encoding wins)."""
    found: list[Variant] = []
    seen: set[bytes] = set()

    def add(pattern: bytes | str, encoding: str) -> None:
        data = pattern.encode("latin-1") if isinstance(pattern, str) else pattern
        if len(data) >= MIN_PATTERN_BYTES and data not in seen:
            seen.add(data)
            found.append(Variant(data, encoding))

    spellings = plain_spellings(kind, value)
    for text in spellings:
        add(text, "plain")
    for text in spellings:
        add(quote(text, safe=""), "url")
        add(quote(text, safe="").replace("%3A", "%3a"), "url")
    for text in spellings:
        raw = text.encode()
        for fragment in base64_fragments(raw):
            add(fragment, "base64")
            add(fragment.replace("+", "-").replace("/", "_"), "base64")
        add(raw.hex(), "hex")
        add(raw.hex().upper(), "hex")
    if kind in TBCD_KINDS:
        for form in tbcd(value):
            add(form, "bcd")
            add(form.hex(), "bcd+hex")
            add(form.hex().upper(), "bcd+hex")
    if kind == "mac":
        add(bytes.fromhex(value.replace(":", "")), "binary")
    for text in spellings:
        for name in HASHES:
            digest = hashlib.new(name, text.encode()).digest()
            add(digest.hex(), name)
            add(digest.hex().upper(), name)
            add(base64.b64encode(digest).decode().rstrip("="), f"{name}+base64")
            add(digest, f"{name}+raw")
    return found


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
