"""What the privacy monitor reports: destinations, leaks, verdicts, new destinations, the summary.

Each has `to_json()` following docs/records.md (`type`, `time` in event time, fields; unknown fields left
out). Evidence never repeats a whole identifier: the match is masked to its first and last two characters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from phonewarden.core.records import iso_time

EVIDENCE_CONTEXT = 24


@dataclass(slots=True)
class Destination:
    device: str
    transport: str
    address: str
    port: int
    first_seen: float
    last_seen: float
    bytes_out: int = 0
    bytes_in: int = 0
    packets_out: int = 0
    packets_in: int = 0
    host: str | None = None
    host_source: str | None = None  # dns, sni, http
    protocol: str = "other"  # http, tls, dns, sip, quic, dot, other
    opaque: str | None = None  # why it cannot be named: tls-no-sni, ech, doh, dot, quic
    country: str | None = None
    org: str | None = None
    uncertain: bool = False
    scope: str = "public"

    @property
    def type(self) -> str:
        return "destination"

    @property
    def time(self) -> float:
        return self.first_seen

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "type": "destination",
            "time": iso_time(self.first_seen),
            "device": self.device,
            "host": self.host,
            "host_source": self.host_source,
            "address": self.address,
            "port": self.port,
            "transport": self.transport,
            "protocol": self.protocol,
            "country": self.country,
            "org": self.org,
            "country_uncertain": self.uncertain,
            "scope": self.scope,
            "opaque": self.opaque,
            "bytes_out": self.bytes_out,
            "bytes_in": self.bytes_in,
            "packets_out": self.packets_out,
            "packets_in": self.packets_in,
            "first_seen": iso_time(self.first_seen),
            "last_seen": iso_time(self.last_seen),
        }
        return {key: value for key, value in record.items() if value is not None}


@dataclass(slots=True)
class Leak:
    time_seen: float
    device: str
    identifier: str
    encoding: str
    confidence: str  # "high" (tier 1: the device's own value) or "low" (tier 2: a valid unknown value)
    destination: Destination
    evidence: str
    field_name: str | None = None  # tier 2: the key the value stood beside
    count: int = 1

    @property
    def type(self) -> str:
        return "leak"

    @property
    def time(self) -> float:
        return self.time_seen

    def to_json(self) -> dict[str, Any]:
        dest = self.destination
        record: dict[str, Any] = {
            "type": "leak",
            "time": iso_time(self.time_seen),
            "device": self.device,
            "identifier": self.identifier,
            "encoding": self.encoding,
            "confidence": self.confidence,
            "tier": 1 if self.confidence == "high" else 2,
            "host": dest.host,
            "address": dest.address,
            "port": dest.port,
            "country": dest.country,
            "org": dest.org,
            "protocol": dest.protocol,
            "field": self.field_name,
            "count": self.count,
            "evidence": self.evidence,
        }
        return {key: value for key, value in record.items() if value is not None}


@dataclass(slots=True)
class Verdict:
    time_seen: float
    device: str
    policy: str
    status: str  # ok, violation, uncertain
    reasons: list[str] = field(default_factory=list)
    evidence: list[Destination] = field(default_factory=list)

    @property
    def type(self) -> str:
        return "verdict"

    @property
    def time(self) -> float:
        return self.time_seen

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "verdict",
            "time": iso_time(self.time_seen),
            "device": self.device,
            "policy": self.policy,
            "status": self.status,
            "reasons": list(self.reasons),
            "flows": [
                {"host": d.host, "address": d.address, "port": d.port, "country": d.country}
                for d in self.evidence
            ],
        }


@dataclass(slots=True)
class NewDestination:
    time_seen: float
    device: str
    destination: Destination
    new_country: bool

    @property
    def type(self) -> str:
        return "new_destination"

    @property
    def time(self) -> float:
        return self.time_seen

    def to_json(self) -> dict[str, Any]:
        dest = self.destination
        record = {
            "type": "new_destination",
            "time": iso_time(self.time_seen),
            "device": self.device,
            "host": dest.host,
            "address": dest.address,
            "port": dest.port,
            "country": dest.country,
            "new_country": self.new_country,
        }
        return {key: value for key, value in record.items() if value is not None}


def redacted_excerpt(payload: bytes, start: int, end: int) -> str:
    """A short printable excerpt around payload[start:end] with the match itself masked."""
    before = payload[max(0, start - EVIDENCE_CONTEXT) : start]
    match = payload[start:end]
    after = payload[end : end + EVIDENCE_CONTEXT]
    masked = _printable(match[:2]) + "…" + _printable(match[-2:]) if len(match) > 4 else "…"
    return f"{_printable(before)}[{masked}]{_printable(after)}"


def _printable(data: bytes) -> str:
    return "".join(chr(b) if 32 <= b < 127 else "." for b in data)
