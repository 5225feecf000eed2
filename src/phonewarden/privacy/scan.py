"""Payload scanning: tier-1 matches of the devices' own identifiers and tier-2 field-named unknown ones.

The scanner keeps the end of the previous segment on each flow direction, so a value split across TCP
segments is still found, and records each leak once per (device, identifier, encoding, destination,
owner) with a count.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from phonewarden.core.records import Segment
from phonewarden.privacy.findings import Leak, redacted_excerpt
from phonewarden.privacy.flows import Flow
from phonewarden.privacy.inventory import Device
from phonewarden.privacy.matcher import IdentifierMatcher
from phonewarden.privacy.tier2 import decoded_base64, find_unknown
from phonewarden.wire.http import HttpRequest
from phonewarden.wire.tls import looks_like_tls

MAX_CLEAR_BYTES = 1 << 20  # a plaintext direction is scanned for its first MiB, then only counted


class LeakScanner:
    def __init__(self, devices: list[Device]) -> None:
        self.matcher = IdentifierMatcher(devices)
        self.known = frozenset(v for d in devices for values in d.identifiers.values() for v in values)
        self.leaks: dict[tuple[Any, ...], Leak] = {}
        self.stats: Counter[str] = Counter()

    def scan_stream(self, flow: Flow, segment: Segment) -> None:
        """Tier 1 over raw stream bytes; the first bytes of a TLS stream make the direction bulk."""
        payload = segment.payload
        if not flow.scanned and looks_like_tls(payload):
            flow.bulk, flow.dest.protocol = True, "tls"
            return
        flow.scanned += len(payload)
        if flow.scanned > MAX_CLEAR_BYTES:
            flow.bulk = True
        tail = flow.tail
        data = tail + payload if tail else payload
        for hit in self.matcher.scan(data):
            if hit.end > len(tail):
                owner = hit.owner
                self.leak(flow, owner.identifier, owner.encoding, "high", data, hit.start, hit.end,
                          segment.time, owner.device)  # fmt: skip
        keep = self.matcher.longest - 1
        flow.tail = data[-keep:] if keep > 0 and segment.transport == "tcp" else b""

    def scan_http(self, flow: Flow, request: HttpRequest, segment: Segment) -> None:
        """What the raw scan cannot see: base64 bodies wrapped at 76 characters, and tier 2."""
        body = request.body
        unwrapped = body.replace(b"\r\n", b"").replace(b"\n", b"") if b"\n" in body else b""
        if unwrapped:
            for hit in self.matcher.scan(unwrapped):
                self.leak(flow, hit.owner.identifier, hit.owner.encoding, "high", unwrapped, hit.start,
                          hit.end, segment.time, hit.owner.device)  # fmt: skip
        target = request.target.encode("latin-1", "replace")
        decoded = decoded_base64(body)
        # A body that is all base64 holds no `key=value` of its own: its decoded text is searched instead.
        texts = [(target, "plain"), (decoded, "base64")] if decoded else [(target + b"\n" + body, "plain")]
        for text, encoding in texts:
            for found in find_unknown(text):
                if found.value not in self.known:
                    self.leak(flow, found.identifier, encoding, "low", text, found.start, found.end,
                              segment.time, flow.dest.device, found.field_name)  # fmt: skip

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
        evidence = redacted_excerpt(data, start, end)
        if device != dest.device:
            evidence = f"(identifier of {device}) {evidence}"
        self.leaks[key] = Leak(
            time, dest.device, identifier, encoding, confidence, dest, evidence, field_name
        )
