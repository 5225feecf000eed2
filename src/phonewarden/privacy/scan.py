"""Payload scanning: tier-1 matches of the devices' own identifiers and tier-2 field-named unknown ones.

Everything a device sends in clear is scanned as raw bytes (HTTP request line, headers and body, SIP, DNS,
unknown TCP and UDP protocols) for both tiers; `scan_http` adds what the raw bytes cannot show (a base64
body wrapped over lines, or one whose decoded text holds `key=value`s). The scanner keeps the end of the
previous segment on each TCP direction, so a value split across segments is still found, and records each
leak once per (device, identifier, encoding, destination, owner) with a count.

Clear text is scanned up to MAX_CLEAR_BYTES per message: the engine calls `new_message` for each HTTP
request, SIP message or DNS message it decodes; a stream it cannot frame gets a new budget every
CLEAR_WINDOW seconds. Work per direction stays bounded, and a long keep-alive connection is still watched.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from phonewarden.core.records import Segment
from phonewarden.privacy.findings import EVIDENCE_CONTEXT, Leak, redacted_excerpt
from phonewarden.privacy.flows import Flow
from phonewarden.privacy.inventory import Device
from phonewarden.privacy.matcher import IdentifierMatcher
from phonewarden.privacy.tier2 import decoded_base64, find_unknown
from phonewarden.wire.http import HttpRequest
from phonewarden.wire.tls import looks_like_tls

MAX_CLEAR_BYTES = 1 << 20  # clear text scanned per message (or per window), the rest only counted
CLEAR_WINDOW = 60.0  # seconds: how often a stream without known messages gets a new budget
TIER2_SPAN = 64  # a tier-2 key and value fit in this many bytes: kept across TCP segments


class LeakScanner:
    def __init__(self, devices: list[Device]) -> None:
        self.matcher = IdentifierMatcher(devices)
        self.known = frozenset(v for d in devices for values in d.identifiers.values() for v in values)
        self.leaks: dict[tuple[Any, ...], Leak] = {}
        self.stats: Counter[str] = Counter()
        # The byte before a match is needed for the digit-boundary check: the tail keeps a whole pattern.
        self.keep = max(self.matcher.longest, TIER2_SPAN)

    def new_message(self, flow: Flow, time: float) -> None:
        """A message begins (or ended) on this direction: its clear-text budget starts again."""
        flow.mark, flow.since = flow.scanned, time

    def scan_stream(self, flow: Flow, segment: Segment) -> None:
        """Both tiers over raw stream bytes; the first bytes of a TLS stream make the direction bulk."""
        payload = segment.payload
        if not flow.scanned:
            if looks_like_tls(payload):
                flow.bulk, flow.dest.protocol = True, "tls"
                return
            flow.since = segment.time
        flow.scanned += len(payload)
        if flow.scanned - flow.mark > MAX_CLEAR_BYTES:
            if segment.time - flow.since < CLEAR_WINDOW:
                self.stats["clear_bytes_not_scanned"] += len(payload)
                flow.tail = b""
                return
            flow.mark, flow.since = flow.scanned - len(payload), segment.time
        tail = flow.tail
        data = tail + payload if tail else payload
        seen = len(tail)
        for hit in self.matcher.scan(data):
            if hit.end > seen:
                owner = hit.owner
                self.leak(flow, owner.identifier, owner.encoding, "high", data, hit.start, hit.end,
                          segment.time, owner.device)  # fmt: skip
        self.unknown(flow, data, "plain", segment.time, seen)
        flow.tail = data[-self.keep :] if segment.transport == "tcp" else b""

    def scan_http(self, flow: Flow, request: HttpRequest, segment: Segment) -> None:
        """What the raw scan cannot see: base64 bodies wrapped at 76 characters, and decoded base64 bodies."""
        body = request.body
        unwrapped = body.replace(b"\r\n", b"").replace(b"\n", b"") if b"\n" in body else b""
        if unwrapped:
            for hit in self.matcher.scan(unwrapped):
                self.leak(flow, hit.owner.identifier, hit.owner.encoding, "high", unwrapped, hit.start,
                          hit.end, segment.time, hit.owner.device)  # fmt: skip
        decoded = decoded_base64(body)
        if decoded:  # a body that is all base64 holds no `key=value` of its own: its decoded text might
            self.unknown(flow, decoded, "base64", segment.time)

    def unknown(self, flow: Flow, data: bytes, encoding: str, time: float, seen: int = 0) -> None:
        """Tier 2 over `data`, whose first `seen` bytes were searched before (the kept tail)."""
        for found in find_unknown(data):
            if found.end > seen and found.value not in self.known:
                self.leak(flow, found.identifier, encoding, "low", data, found.start, found.end, time,
                          flow.dest.device, found.field_name)  # fmt: skip

    def leak(self, flow: Flow, identifier: str, encoding: str, confidence: str, data: bytes, start: int,
             end: int, time: float, device: str, field_name: str | None = None) -> None:  # fmt: skip
        dest = flow.dest
        if device != dest.device:
            self.stats["foreign_identifier_hits"] += 1  # another device's value passing through this one
        key = (dest.device, identifier, encoding, confidence, dest.transport, dest.address, dest.port, device)
        found = self.leaks.get(key)
        if found is not None:
            found.count += 1
            return
        evidence = redacted_excerpt(data, start, end, self.identifiers_near(data, start, end))
        if device != dest.device:
            evidence = f"(identifier of {device}) {evidence}"
        self.leaks[key] = Leak(
            time, dest.device, identifier, encoding, confidence, dest, evidence, field_name
        )

    def identifiers_near(self, data: bytes, start: int, end: int) -> list[tuple[int, int]]:
        """Spans of every tier-1 and tier-2 hit that reaches into the evidence window around start:end."""
        low = max(0, start - EVIDENCE_CONTEXT - self.keep)
        window = data[low : end + EVIDENCE_CONTEXT + self.keep]
        spans = [(low + hit.start, low + hit.end) for hit in self.matcher.scan(window)]
        spans += [(low + found.start, low + found.end) for found in find_unknown(window)]
        return spans
