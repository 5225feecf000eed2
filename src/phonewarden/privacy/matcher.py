"""Tier-1 leak matching: one Aho-Corasick automaton over every pattern of every device.

ahocorasick-rs (Rust) is used rather than pyahocorasick: on 719 patterns over 1,400-byte payloads it
scanned 147 MB/s against pyahocorasick's 27 MB/s on this machine (pyahocorasick also needs a latin-1
str copy of each payload). One pattern can belong to several devices (a shared SIM, a typo'd copy).

An all-digit value written as digits (plain or URL-encoded) counts only where it is not part of a longer
number: a 7-digit cell ID inside a timestamp or an order number is not that cell ID.
"""

from __future__ import annotations

from dataclasses import dataclass

import ahocorasick_rs

from phonewarden.privacy.inventory import Device
from phonewarden.privacy.variants import variants


@dataclass(frozen=True, slots=True)
class Owner:
    device: str
    identifier: str  # imei, imsi, iccid, mac, msisdn, cell_id, serial, sip_user, meid
    value: str
    encoding: str
    bounded: bool = False  # digits that must not touch another digit on either side


@dataclass(frozen=True, slots=True)
class Hit:
    owner: Owner
    start: int
    end: int


class IdentifierMatcher:
    def __init__(self, devices: list[Device]) -> None:
        owners: dict[bytes, list[Owner]] = {}
        for device in devices:
            for kind, values in device.identifiers.items():
                for value in values:
                    digits = value.isdigit()
                    for variant in variants(kind, value):
                        bounded = digits and variant.encoding in ("plain", "url")
                        owner = Owner(device.name, kind, value, variant.encoding, bounded)
                        owners.setdefault(variant.pattern, []).append(owner)
        self.patterns = list(owners)
        self.owners = [owners[pattern] for pattern in self.patterns]
        self.longest = max((len(pattern) for pattern in self.patterns), default=0)
        self._automaton = (
            ahocorasick_rs.BytesAhoCorasick(self.patterns, matchkind=ahocorasick_rs.MATCHKIND_STANDARD)
            if self.patterns
            else None
        )

    def __len__(self) -> int:
        return len(self.patterns)

    def scan(self, payload: bytes) -> list[Hit]:
        """Every pattern occurrence (overlapping ones too: a hex MAC inside a hex IMEI must not hide it)."""
        if self._automaton is None:
            return []
        found = self._automaton.find_matches_as_indexes(payload, overlapping=True)
        if not found:
            return []
        owners, hits = self.owners, []
        for index, start, end in found:
            for owner in owners[index]:
                if owner.bounded and _inside_number(payload, start, end):
                    continue
                hits.append(Hit(owner, start, end))
        return hits


def _inside_number(payload: bytes, start: int, end: int) -> bool:
    """A digit run continues past the match. The pattern ends in a digit; it may start with `+` or `%2B`.
    Where the payload ends is a boundary: a value cut at a segment's end is taken as a whole one."""
    if end < len(payload) and 48 <= payload[end] <= 57:
        return True
    return start > 0 and 48 <= payload[start - 1] <= 57 and 48 <= payload[start] <= 57
