"""Tier-1 leak matching: one Aho-Corasick automaton over every pattern of every device.

ahocorasick-rs (Rust) is used rather than pyahocorasick: on 719 patterns over 1,400-byte payloads it
scanned 147 MB/s against pyahocorasick's 27 MB/s on this machine (pyahocorasick also needs a latin-1
str copy of each payload). One pattern can belong to several devices (a shared SIM, a typo'd copy).
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
                    for variant in variants(kind, value):
                        owner = Owner(device.name, kind, value, variant.encoding)
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
        owners = self.owners
        return [Hit(owner, start, end) for index, start, end in found for owner in owners[index]]
