"""Measure record types: frozen slotted dataclass vs msgspec.Struct (create + JSON-encode).

The kernel's records are dataclasses; this benchmark is why (see bench/README.md).
"""

from __future__ import annotations

import json
import timeit
from dataclasses import asdict, dataclass

import msgspec


@dataclass(slots=True, frozen=True)
class SegmentDataclass:
    time: float
    transport: str
    src: str
    sport: int
    dst: str
    dport: int
    payload: bytes


@dataclass(slots=True)
class SegmentMutableDataclass:
    time: float
    transport: str
    src: str
    sport: int
    dst: str
    dport: int
    payload: bytes


class SegmentStruct(msgspec.Struct, frozen=True, gc=False):
    time: float
    transport: str
    src: str
    sport: int
    dst: str
    dport: int
    payload: bytes


ARGS = (1.7e9, "udp", "198.51.100.7", 5060, "203.0.113.5", 5060, b"x" * 400)
ROUNDS = 200_000


def main() -> None:
    create_dc = timeit.timeit(lambda: SegmentDataclass(*ARGS), number=ROUNDS) / ROUNDS * 1e9
    create_mut = timeit.timeit(lambda: SegmentMutableDataclass(*ARGS), number=ROUNDS) / ROUNDS * 1e9
    create_ms = timeit.timeit(lambda: SegmentStruct(*ARGS), number=ROUNDS) / ROUNDS * 1e9
    dc, ms = SegmentDataclass(*ARGS[:-1], b""), SegmentStruct(*ARGS[:-1], b"")
    encoder = msgspec.json.Encoder()
    json_dc = (
        timeit.timeit(lambda: json.dumps({**asdict(dc), "payload": ""}), number=ROUNDS // 4)
        / (ROUNDS // 4)
        * 1e9
    )
    json_ms = timeit.timeit(lambda: encoder.encode(ms), number=ROUNDS // 4) / (ROUNDS // 4) * 1e9
    print(
        f"create: frozen dataclass {create_dc:6.0f} ns   mutable slotted dataclass {create_mut:6.0f} ns"
        f"   msgspec.Struct {create_ms:6.0f} ns"
    )
    print(f"json:   dataclass+json {json_dc:6.0f} ns   msgspec.json {json_ms:6.0f} ns")


if __name__ == "__main__":
    main()
