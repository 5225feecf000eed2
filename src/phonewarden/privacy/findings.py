"""What the privacy monitor reports: destinations, leaks, verdicts, new destinations, the summary.

Each has `to_json()` following docs/records.md (`type`, `time` in event time, fields; unknown fields left
out). Evidence never repeats a whole identifier: the match is masked to its first and last two characters,
and the context around it shows no other identifier either (see `redacted_excerpt`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from phonewarden.core.records import iso_time

EVIDENCE_CONTEXT = 24
MAX_NAMES = 64  # names kept per destination; more (a CDN address) are counted in `hosts_dropped`
# The evidence's safety net: what could be an identifier the scanner did not recognise. Runs of 6 or more
# hex characters holding a digit (IMEIs, IMSIs, hashes, bare MACs; "facade" stays readable) and MACs
# written with separators.
_NUMBER_LIKE = re.compile(rb"(?:[0-9A-Fa-f]{2}[:-]){2,}[0-9A-Fa-f]{2}|(?=[A-Fa-f]*[0-9])[0-9A-Fa-f]{6,}")


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
    hosts: list[str] = field(default_factory=list)  # every name seen for this address, in order
    hosts_dropped: int = 0  # names beyond MAX_NAMES: not judged by name, so a domain policy is uncertain

    @property
    def type(self) -> str:
        return "destination"

    @property
    def names(self) -> list[str]:
        """Every name the device used for this address (`host` among them), for policies and baselines."""
        if self.host is None or self.host in self.hosts:
            return self.hosts
        return [*self.hosts, self.host]

    def add_name(self, name: str, source: str) -> None:
        """A name this address was reached by; `host` shows the latest, `hosts` keeps them all."""
        self.host, self.host_source = name, source
        if name not in self.hosts:
            if len(self.hosts) < MAX_NAMES:
                self.hosts.append(name)
            else:
                self.hosts_dropped += 1

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
            "hosts": self.names if len(self.names) > 1 else None,
            "hosts_dropped": self.hosts_dropped or None,
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
            "flows": [_flow(d) for d in self.evidence],
        }


def _flow(dest: Destination) -> dict[str, Any]:
    flow: dict[str, Any] = {
        "host": dest.host,
        "address": dest.address,
        "port": dest.port,
        "country": dest.country,
    }
    if len(dest.names) > 1:
        flow["hosts"] = dest.names
    return flow


@dataclass(slots=True)
class NewDestination:
    time_seen: float
    device: str
    destination: Destination
    new_country: bool
    host: str | None = None  # the new name, when the destination is known by several

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
            "host": self.host or dest.host,
            "address": dest.address,
            "port": dest.port,
            "country": dest.country,
            "new_country": self.new_country,
        }
        return {key: value for key, value in record.items() if value is not None}


def redacted_excerpt(payload: bytes, start: int, end: int, hidden: Iterable[tuple[int, int]] = ()) -> str:
    """A short printable excerpt around payload[start:end] with the match masked to `[ab…yz]`.

    In the context, the `hidden` spans (other identifiers found there) and anything number-like
    (`_NUMBER_LIKE`) are each shown as `…`, so the excerpt never shows another identifier in clear."""
    low, high = max(0, start - EVIDENCE_CONTEXT), min(len(payload), end + EVIDENCE_CONTEXT)
    numbers = _NUMBER_LIKE.finditer(payload, max(0, low - 32), high + 32)  # whole, even if cut by the window
    spans = [*hidden, *(number.span() for number in numbers)]
    match = payload[start:end]
    masked = _printable(match[:2]) + "…" + _printable(match[-2:]) if len(match) > 4 else "…"
    return f"{_masked(payload, low, start, spans)}[{masked}]{_masked(payload, end, high, spans)}"


def _masked(payload: bytes, low: int, high: int, spans: list[tuple[int, int]]) -> str:
    hide = bytearray(max(0, high - low))
    for start, end in spans:
        for index in range(max(start, low), min(end, high)):
            hide[index - low] = 1
    text, index = [], low
    while index < high:
        if hide[index - low]:
            while index < high and hide[index - low]:
                index += 1
            text.append("…")
        else:
            text.append(_printable(payload[index : index + 1]))
            index += 1
    return "".join(text)


def _printable(data: bytes) -> str:
    return "".join(chr(b) if 32 <= b < 127 else "." for b in data)
