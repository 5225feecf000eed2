"""Frames in, destinations and leaks per device out: the privacy monitor's hot path.

Wraps the kernel's PacketDecoder (link/IP/TCP reassembly) and TrafficDecoder (DNS, HTTP, TLS records),
and adds what they do not keep: per-flow byte counts, the owning device, and payload scanning. Speed comes
from not decoding what cannot leak: once a flow direction is known to be encrypted (TLS after its
ClientHello, QUIC) or inbound (a server's answer), its frames are only counted, by an IPv4 fast path keyed
on the 12 address/port bytes of the frame, without reassembly.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from typing import Any

from phonewarden.core.records import Frame, Segment
from phonewarden.privacy.findings import Destination, Leak, redacted_excerpt
from phonewarden.privacy.geo import GeoLookup
from phonewarden.privacy.inventory import Device
from phonewarden.privacy.matcher import IdentifierMatcher
from phonewarden.privacy.names import DOH_HOSTS, HostNames
from phonewarden.privacy.tier2 import decoded_base64, find_unknown
from phonewarden.wire.dns import DnsMessage
from phonewarden.wire.http import HttpRequest
from phonewarden.wire.tls import ClientHello, looks_like_tls
from phonewarden.wire.traffic import DNS_PORTS, TrafficDecoder

SKIP_PORTS = frozenset({67, 68, 546, 547})  # DHCP carries the MAC to the local server by design
MAX_CLEAR_BYTES = 1 << 20  # a plaintext direction is scanned for its first MiB, then only counted


class _Flow:
    """One direction of one connection, as the privacy monitor sees it."""

    __slots__ = ("bulk", "dest", "outbound", "scanned", "tail")

    def __init__(self, dest: Destination, outbound: bool) -> None:
        self.dest = dest
        self.outbound = outbound
        self.bulk = False  # only count bytes from now on
        self.tail = b""  # end of the previous segment, so a pattern split across segments is found
        self.scanned = 0

    def count(self, time: float, size: int) -> None:
        dest = self.dest
        if self.outbound:
            dest.bytes_out += size
            dest.packets_out += 1
        else:
            dest.bytes_in += size
            dest.packets_in += 1
        dest.last_seen = time


class PrivacyEngine:
    def __init__(self, devices: list[Device], geo: GeoLookup | None = None, max_flows: int = 131072) -> None:
        self.devices = devices
        self.by_ip = {ip: d.name for d in devices for ip in d.ips}
        self.by_mac = {bytes.fromhex(m.replace(":", "")): d.name for d in devices for m in d.macs}
        self.auto = not devices  # no inventory: every private address is a device of its own
        self.matcher = IdentifierMatcher(devices)
        self.geo = geo or GeoLookup()
        self.names = HostNames()
        self.decoder = TrafficDecoder()
        self.max_flows = max_flows
        self.destinations: dict[tuple[str, str, str, int], Destination] = {}
        self.leaks: dict[tuple[Any, ...], Leak] = {}
        self.stats: Counter[str] = Counter()
        self._flows: dict[tuple[str, int, str, int], _Flow | None] = {}
        self._fast: dict[bytes, _Flow] = {}  # IPv4 address/port bytes -> a flow that is only counted
        self._known: set[bytes] = set()  # IPv4 address/port bytes of flows being decoded
        self.last_time = 0.0

    def feed(self, frame: Frame) -> None:
        data = frame.data
        self.last_time = frame.time
        if frame.linktype == 1 and len(data) >= 42 and data[12] == 8 and data[13] == 0 and data[14] == 0x45:
            key = data[26:38]
            flow = self._fast.get(key)
            if flow is not None and not data[20] & 0x3F | data[21]:  # not a fragment
                total = data[16] << 8 | data[17]
                if data[23] == 6:
                    size = total - 20 - ((data[46] >> 4) << 2) if len(data) > 46 else 0
                else:
                    size = total - 28
                if size > 0:
                    flow.count(frame.time, size)
                return
            if (
                key in self._known
                and data[23] == 6
                and len(data) == 14 + (data[16] << 8 | data[17])  # not truncated, no Ethernet padding games
                and (data[16] << 8 | data[17]) == 20 + ((data[46] >> 4) << 2)
                and not data[47] & 0x07  # no SYN/FIN/RST: a bare ACK changes nothing we track
            ):
                return
        decoder = self.decoder
        for segment in decoder.packets.feed(frame):
            flow = self._flow(segment, frame)
            if flow is None:
                self.stats["unattributed_bytes"] += len(segment.payload)
                continue
            flow.count(segment.time, len(segment.payload))
            if flow.bulk:
                continue
            records = decoder.segment(segment)
            for record in records:
                self._record(flow, record.type, record.body, segment)
            if not flow.bulk and flow.outbound:
                self._scan(flow, segment)
            if frame.linktype == 1 and data[14:15] == b"\x45":
                if flow.bulk:
                    self._fast[data[26:38]] = flow
                elif len(self._known) < self.max_flows:
                    self._known.add(data[26:38])
        for closed in decoder.packets.pop_closed():
            decoder.streams.pop(closed, None)
            self._flows.pop(closed, None)
        if len(self._fast) > self.max_flows:
            self._fast.clear()  # rebuilt from the next packet of each live flow
            self._known.clear()

    def _device(self, address: str, frame_mac: bytes) -> str | None:
        device = self.by_ip.get(address)
        if device is None and frame_mac in self.by_mac:
            device = self.by_ip[address] = self.by_mac[frame_mac]  # learnt: this MAC uses this address
        if device is None and self.auto and self.geo.place(address).scope in ("private", "link-local"):
            device = address
        return device

    def _flow(self, segment: Segment, frame: Frame) -> _Flow | None:
        key = (segment.src, segment.sport, segment.dst, segment.dport)
        if key in self._flows:
            return self._flows[key]
        ethernet = frame.linktype == 1
        outbound = True
        device = self._device(segment.src, frame.data[6:12] if ethernet else b"")
        if device is None:
            outbound = False
            device = self._device(segment.dst, frame.data[0:6] if ethernet else b"")
        if len(self._flows) >= self.max_flows:
            del self._flows[next(iter(self._flows))]
            self.stats["flow_evictions"] += 1
        if device is None:
            self._flows[key] = None
            return None
        remote, port = (segment.dst, segment.dport) if outbound else (segment.src, segment.sport)
        flow = _Flow(self._destination(device, segment, remote, port), outbound)
        if not outbound and not (segment.transport == "udp" or segment.sport in DNS_PORTS):
            flow.bulk = True  # a server's TCP answer: counted, not decoded
        if segment.transport == "udp" and port == 443:
            flow.dest.protocol, flow.dest.opaque, flow.bulk = "quic", "quic", True
        elif port == 853:
            flow.dest.protocol, flow.dest.opaque, flow.bulk = "dot", "dot", True
        elif segment.sport in SKIP_PORTS or segment.dport in SKIP_PORTS:
            flow.bulk = True
        self._flows[key] = flow
        return flow

    def _destination(self, device: str, segment: Segment, remote: str, port: int) -> Destination:
        key = (device, segment.transport, remote, port)
        dest = self.destinations.get(key)
        if dest is None:
            place = self.geo.place(remote)
            dest = Destination(device, segment.transport, remote, port, segment.time, segment.time)
            dest.country, dest.org, dest.uncertain, dest.scope = (
                place.country, place.org, place.uncertain, place.scope)  # fmt: skip
            name = self.names.lookup(device, remote, segment.time)
            if name:
                dest.host, dest.host_source = name, "dns"
            self.destinations[key] = dest
        return dest

    def _record(self, flow: _Flow, kind: str, body: Any, segment: Segment) -> None:
        dest = flow.dest
        if kind == "dns" and isinstance(body, DnsMessage):
            dest.protocol = "dns"
            if not flow.outbound:
                self.names.learn_dns(dest.device, body, segment.time)
        elif kind == "tls" and isinstance(body, ClientHello):
            dest.protocol = "tls"
            if body.sni:
                dest.host, dest.host_source = body.sni.lower(), "sni"
            dest.opaque = "ech" if body.has_ech else "doh" if dest.host in DOH_HOSTS else None
            if not body.sni:
                dest.opaque = dest.opaque or "tls-no-sni"
            flow.bulk = True
        elif kind == "http" and isinstance(body, HttpRequest):
            dest.protocol = "http"
            if body.host:
                dest.host, dest.host_source = body.host.split(":")[0].lower(), "http"
            self._scan_http(flow, body, segment)
        elif kind == "sip":
            dest.protocol = "sip"

    def _scan(self, flow: _Flow, segment: Segment) -> None:
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
                self._leak(flow, hit.owner.identifier, hit.owner.encoding, "high", data, hit.start, hit.end,
                           segment.time, hit.owner.device)  # fmt: skip
        keep = self.matcher.longest - 1
        flow.tail = data[-keep:] if keep > 0 and segment.transport == "tcp" else b""

    def _scan_http(self, flow: _Flow, request: HttpRequest, segment: Segment) -> None:
        """What the raw scan cannot see: base64 bodies wrapped at 76 characters, and tier 2."""
        body = request.body
        unwrapped = body.replace(b"\r\n", b"").replace(b"\n", b"") if b"\n" in body else b""
        if unwrapped:
            for hit in self.matcher.scan(unwrapped):
                self._leak(flow, hit.owner.identifier, hit.owner.encoding, "high", unwrapped, hit.start,
                           hit.end, segment.time, hit.owner.device)  # fmt: skip
        known = {v for d in self.devices for values in d.identifiers.values() for v in values}
        clear = request.target.encode("latin-1", "replace") + b"\n" + body
        texts = [(clear, "plain")]
        decoded = decoded_base64(body)
        if decoded:
            texts.append((decoded, "base64"))
        for text, encoding in texts:
            for found in find_unknown(text):
                if found.value not in known:
                    self._leak(flow, found.identifier, encoding, "low", text, found.start, found.end,
                               segment.time, flow.dest.device, found.field_name)  # fmt: skip

    def _leak(self, flow: _Flow, identifier: str, encoding: str, confidence: str, data: bytes, start: int,
              end: int, time: float, device: str, field_name: str | None = None) -> None:  # fmt: skip
        dest = flow.dest
        if device != dest.device:
            self.stats["foreign_identifier_hits"] += 1  # another device's value passing through this one
        key = (dest.device, identifier, encoding, dest.transport, dest.address, dest.port, device)
        leak = self.leaks.get(key)
        if leak is not None:
            leak.count += 1
            return
        evidence = redacted_excerpt(data, start, end)
        if device != dest.device:
            evidence = f"(identifier of {device}) {evidence}"
        leak = Leak(time, dest.device, identifier, encoding, confidence, dest, evidence, field_name)
        self.leaks[key] = leak

    @property
    def anomalies(self) -> Counter[str]:
        merged = Counter(self.decoder.anomalies)
        merged.update(self.stats)
        return merged


def is_public(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:
        return False
