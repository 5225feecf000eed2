"""Frames in, destinations and leaks per device out: the privacy monitor's hot path.

Speed comes from decoding only what can leak. Plain Ethernet/IPv4 frames are looked at raw first, keyed
on their 12 address/port bytes. A TCP direction gets its state from its first frame (its SYN; a SYN-ACK
reuses the client direction's destination). What a device *sends* is followed in sequence order right
here: in-order payload goes straight to decoding and scanning (a segment holding one whole HTTP request
is read by `fasthttp`, the rest by the kernel's TrafficDecoder). The first out-of-order segment hands the
direction to the kernel's TcpReassembler, which buffers and orders from then on. Bare ACKs, server answers
and encrypted directions (after a TLS ClientHello, QUIC) are only counted. Everything else (IPv6, VLAN,
fragments, other link types) takes the kernel's PacketDecoder.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Iterable
from socket import inet_ntoa
from typing import Any

from phonewarden.core.records import Frame, Segment
from phonewarden.privacy.dnslogs import NameAnswer
from phonewarden.privacy.fasthttp import whole_request
from phonewarden.privacy.findings import Destination, Leak
from phonewarden.privacy.flows import Flow, FlowKey, FlowTable
from phonewarden.privacy.geo import GeoLookup
from phonewarden.privacy.inventory import Device
from phonewarden.privacy.names import DOH_HOSTS
from phonewarden.privacy.scan import LeakScanner
from phonewarden.privacy.zeeklogs import ConnFlow, TlsName
from phonewarden.wire.dns import DnsMessage
from phonewarden.wire.http import HttpRequest
from phonewarden.wire.tls import ClientHello
from phonewarden.wire.traffic import DNS_PORTS, NetworkRecord, TrafficDecoder

_FIN, _SYN, _RST, _FIN_RST = 0x01, 0x02, 0x04, 0x05
_MASK = 0xFFFFFFFF
_SYN_HEADER = struct.Struct("!HHIIBBHHH")  # a bare TCP header, to start the kernel's stream at a position


class PrivacyEngine:
    def __init__(self, devices: list[Device], geo: GeoLookup | None = None, max_flows: int = 131072) -> None:
        self.devices = devices
        self.table = FlowTable(devices, geo or GeoLookup(), max_flows)
        self.scanner = LeakScanner(devices)
        self.decoder = TrafficDecoder()
        self.max_flows = max_flows
        self._raw: dict[bytes, Flow] = {}  # IPv4 TCP address/port bytes -> the directions in table.flows
        self._raw_udp: dict[bytes, Flow] = {}  # IPv4 UDP directions that are only counted
        self._tls_names: dict[tuple[str, str], TlsName] = {}  # (device, server address) -> ssl.log entry
        self.last_time = 0.0

    @property
    def destinations(self) -> dict[tuple[str, str, str, int], Destination]:
        return self.table.destinations

    @property
    def leaks(self) -> dict[tuple[Any, ...], Leak]:
        return self.scanner.leaks

    def learn_names(self, answers: Iterable[NameAnswer]) -> int:
        """Names from DNS logs (`dnslogs`), for destinations the capture saw no DNS answer for."""
        learnt = 0
        for answer in answers:
            device = self.table.device(answer.client, b"")
            if device is not None:
                self.table.names.learn_logged(device, answer.address, answer.name)
                learnt += 1
        return learnt

    def learn_zeek(self, flows: Iterable[ConnFlow], tls: Iterable[TlsName]) -> int:
        """Zeek conn.log flows counted per device as captured ones are, named by ssl.log entries of the same
        uid; returns how many flows belonged to a device. Call `name_from_tls_logs` after the capture."""
        by_uid: dict[str, TlsName] = {}
        for entry in tls:
            if entry.uid:
                by_uid[entry.uid] = entry
            device = self.table.device(entry.orig, b"")
            if device is not None and entry.server_name:
                self._tls_names[(device, entry.resp)] = entry
        counted = 0
        for flow in flows:
            if flow.transport not in ("tcp", "udp"):
                self.table.stats["zeek_conn_not_tcp_udp"] += 1
                continue
            outbound, device = True, self.table.device(flow.orig, b"")
            if device is None:
                outbound, device = False, self.table.device(flow.resp, b"")
            if device is None:
                self.table.nobody.dest.bytes_out += flow.orig_bytes + flow.resp_bytes
                continue
            remote, port = (flow.resp, flow.resp_port) if outbound else (flow.orig, flow.orig_port)
            dest = self.table.destination(device, flow.transport, remote, port, flow.time)
            dest.bytes_out += flow.orig_bytes if outbound else flow.resp_bytes
            dest.bytes_in += flow.resp_bytes if outbound else flow.orig_bytes
            end = flow.time + flow.duration
            dest.first_seen, dest.last_seen = min(dest.first_seen, flow.time), max(dest.last_seen, end)
            self.last_time = max(self.last_time, end)
            _classify_logged(dest, flow, by_uid.get(flow.uid or ""))
            counted += 1
        return counted

    def name_from_tls_logs(self) -> None:
        """Destinations still unnamed take the server name ssl.log saw their device ask that address for."""
        for dest in self.table.destinations.values():
            entry = self._tls_names.get((dest.device, dest.address))
            if entry is not None and entry.server_name and dest.host is None:
                dest.add_name(entry.server_name, "sni")
                if dest.host in DOH_HOSTS:
                    dest.opaque = "doh"

    def feed(self, frame: Frame) -> None:
        self.feed_all((frame,))

    def feed_all(self, frames: Iterable[Frame]) -> int:
        """Feed every frame; returns how many. One loop with local names: this is the per-packet cost."""
        raw_get, raw_udp_get, count = self._raw.get, self._raw_udp.get, 0
        time = self.last_time
        for frame in frames:
            count += 1
            data = frame.data
            time = frame.time
            if (frame.linktype == 1 and len(data) >= 54 and data[12] == 8 and data[13] == 0
                    and data[14] == 0x45 and not data[20] & 0x3F | data[21]):  # fmt: skip
                if data[23] == 6:
                    flow = raw_get(data[26:38])
                    flags = data[47]
                    if flow is None or flags & _SYN:
                        flow = self._raw_tcp_flow(data, time, flags)
                    size = (data[16] << 8 | data[17]) - 20 - ((data[46] >> 4) << 2)
                    if flow.bulk:
                        if size > 0:  # Flow.count written out: once per packet on the fast path
                            dest = flow.dest
                            if flow.outbound:
                                dest.bytes_out += size
                                dest.packets_out += 1
                            else:
                                dest.bytes_in += size
                                dest.packets_in += 1
                            dest.last_seen = time
                    elif size > 0 or flags & _FIN_RST:  # a bare SYN was taken by _raw_tcp_flow
                        self.last_time = time
                        self._tcp(flow, data, time, flags, size)
                    continue  # a bare ACK changes nothing tracked here
                if data[23] == 17:
                    flow = raw_udp_get(data[26:38])
                    if flow is not None:
                        flow.count(time, (data[16] << 8 | data[17]) - 28)
                        continue
            self.last_time = time
            self._decode(frame)
        self.last_time = time
        return count

    def _tcp(self, flow: Flow, data: bytes, time: float, flags: int, size: int) -> None:
        """A sent TCP frame with payload or SYN/FIN/RST, in sequence order; the kernel takes over on a gap."""
        end = 14 + (data[16] << 8 | data[17])
        if flow.kernel:
            self._kernel_tcp(flow, time, data[34:end])
            return
        if flags & _RST:
            self._close(flow)
            return
        seq = data[38] << 24 | data[39] << 16 | data[40] << 8 | data[41]
        if flags & _SYN:
            seq = (seq + 1) & _MASK  # data on a SYN (TCP Fast Open) starts after it
        elif flow.next_seq < 0:
            flow.next_seq = seq  # picked up mid-stream
        if size <= 0:
            if seq != flow.next_seq:
                self._to_kernel(flow, time, data[34:end])
            elif flags & _FIN:
                self._close(flow)
            return
        payload = data[end - size : end]
        if seq != flow.next_seq or len(payload) != size:  # a gap, a retransmission, a snap-length cut
            self._to_kernel(flow, time, data[34:end])
            return
        flow.next_seq = (seq + size) & _MASK
        self._segment(flow, Segment(time, "tcp", *flow.key, payload))
        if flags & _FIN:
            self._close(flow)

    def _to_kernel(self, flow: Flow, time: float, tcp_bytes: bytes) -> None:
        """From now on the kernel's reassembler orders this direction, starting where we stopped."""
        flow.kernel = True
        src, sport, dst, dport = flow.key
        start = _SYN_HEADER.pack(sport, dport, (flow.next_seq - 1) & _MASK, 0, 0x50, _SYN, 0, 0, 0)
        self.decoder.packets.tcp.feed(time, src, dst, start)
        self._kernel_tcp(flow, time, tcp_bytes)

    def _kernel_tcp(self, flow: Flow, time: float, tcp_bytes: bytes) -> None:
        src, _, dst, _ = flow.key
        for segment in self.decoder.packets.tcp.feed(time, src, dst, tcp_bytes):
            self._segment(flow, segment)
        self._closed()

    def _close(self, flow: Flow) -> None:
        self.decoder.streams.pop(flow.key, None)
        self.table.forget(flow.key)
        flow.bulk = True

    def _decode(self, frame: Frame) -> None:
        data = frame.data
        for segment in self.decoder.packets.feed(frame):
            key = (segment.src, segment.sport, segment.dst, segment.dport)
            flow = self.table.flows.get(key)
            if flow is None:
                macs = (data[6:12], data[0:6]) if frame.linktype == 1 else (b"", b"")
                flow = self.table.new_flow(segment.transport, key, segment.time, *macs)
            self._segment(flow, segment)
            if flow.bulk and segment.transport == "udp" and _plain_ipv4(frame):
                if len(self._raw_udp) >= self.max_flows:
                    self._raw_udp.clear()
                self._raw_udp[data[26:38]] = flow  # an encrypted or skipped UDP direction: counted raw
        self._closed()

    def _segment(self, flow: Flow, segment: Segment) -> None:
        flow.count(segment.time, len(segment.payload))
        if flow.bulk:
            return
        outbound_udp = flow.outbound and segment.transport == "udp"
        request = (
            whole_request(segment.payload)
            if flow.outbound and not flow.scanned and not outbound_udp
            else None
        )
        if request is not None:
            self._record(flow, "http", request, segment)  # the stream's next bytes start afresh
        elif outbound_udp and segment.dport in DNS_PORTS and segment.payload[2:3] < b"\x80":
            flow.dest.protocol = "dns"  # a query: only scanned (its names may leak), nothing to learn
        else:
            for record in self.decoder.segment(segment):
                self._record(flow, record.type, record.body, segment)
        if flow.outbound and not flow.bulk:
            self.scanner.scan_stream(flow, segment)

    def _closed(self) -> None:
        for key in self.decoder.packets.pop_closed():
            self.decoder.streams.pop(key, None)
            self.table.forget(key)

    def feed_record(self, record: NetworkRecord[Any]) -> None:
        """A decoded record from elsewhere (the HEP listener in `serve`): its payload is scanned as sent."""
        segment = record.segment
        self.last_time = segment.time
        key = (segment.src, segment.sport, segment.dst, segment.dport)
        flow = self.table.flows.get(key) or self.table.new_flow(
            segment.transport, key, segment.time, b"", b""
        )
        flow.count(segment.time, len(segment.payload))
        if flow.bulk:
            return
        self._record(flow, record.type, record.body, segment)
        if flow.outbound and not flow.bulk:
            self.scanner.scan_stream(flow, segment)

    def _raw_tcp_flow(self, data: bytes, time: float, flags: int) -> Flow:
        flow = self._answer(data) if flags & 0x12 == 0x12 else None
        if flow is None:
            key: FlowKey = (inet_ntoa(data[26:30]), data[34] << 8 | data[35],
                            inet_ntoa(data[30:34]), data[36] << 8 | data[37])  # fmt: skip
            flow = None if flags & _SYN else self.table.flows.get(key)
            if flow is None:
                self.decoder.streams.pop(key, None)  # a reused 4-tuple must be classified again
                flow = self.table.new_flow("tcp", key, time, data[6:12], data[0:6])
            if flags & _SYN:  # the stream starts after the SYN: its own frame needs nothing else
                flow.next_seq = (data[38] << 24 | data[39] << 16 | data[40] << 8 | data[41]) + 1 & _MASK
        if len(self._raw) >= self.max_flows:
            self._raw.clear()  # rebuilt from the next frame of each live direction
            self.table.stats["raw_table_resets"] += 1
        self._raw[data[26:38]] = flow
        return flow

    def _answer(self, data: bytes) -> Flow | None:
        """A SYN-ACK answering a device's SYN seen a moment ago: that direction is only counted."""
        forward = self._raw.get(data[30:34] + data[26:30] + data[36:38] + data[34:36])
        if forward is None or not forward.outbound or (data[34] << 8 | data[35]) in DNS_PORTS:
            return None  # not a device's connection, or DNS over TCP, whose answers are decoded
        return self.table.answer(forward)

    def _record(self, flow: Flow, kind: str, body: Any, segment: Segment) -> None:
        dest = flow.dest
        if kind == "http" and isinstance(body, HttpRequest):
            self.scanner.new_message(flow, segment.time)
            dest.protocol = "http"
            if body.host:
                dest.add_name(body.host.split(":")[0].lower(), "http")
            self.scanner.scan_http(flow, body, segment)
        elif kind == "dns" and isinstance(body, DnsMessage):
            self.scanner.new_message(flow, segment.time)
            dest.protocol = "dns"
            if not flow.outbound:
                self.table.names.learn_dns(dest.device, body, segment.time)
        elif kind == "tls" and isinstance(body, ClientHello):
            dest.protocol = "tls"
            if body.sni:
                dest.add_name(body.sni.lower(), "sni")
            # Opacity sticks: one unnamed or ECH connection to an address shared by many names could
            # have gone to any of them, whatever the other connections were named.
            why = "ech" if body.has_ech else "doh" if dest.host in DOH_HOSTS else None
            dest.opaque = dest.opaque or why or (None if body.sni else "tls-no-sni")
            flow.bulk = True
        elif kind == "sip":
            self.scanner.new_message(flow, segment.time)
            dest.protocol = "sip"

    @property
    def anomalies(self) -> Counter[str]:
        merged = Counter(self.decoder.anomalies)
        merged.update(self.table.stats)
        merged.update(self.scanner.stats)
        unattributed = self.table.nobody.dest.bytes_out
        if unattributed:
            merged["unattributed_bytes"] = unattributed
        return merged


def _classify_logged(dest: Destination, flow: ConnFlow, tls: TlsName | None) -> None:
    """Protocol, name and opacity of a conn.log flow, as the capture path would set them."""
    services = set((flow.service or "").lower().split(","))
    for service, protocol in (("ssl", "tls"), ("http", "http"), ("dns", "dns"), ("sip", "sip")):
        if service in services:
            dest.protocol = protocol
    if "quic" in services or (flow.transport == "udp" and dest.port == 443):
        dest.protocol, dest.opaque = "quic", "quic"
    elif dest.port == 853:
        dest.protocol, dest.opaque = "dot", "dot"
    if tls is None:
        return
    dest.protocol = "tls" if dest.protocol != "quic" else dest.protocol
    if tls.server_name:
        dest.add_name(tls.server_name, "sni")
        if tls.server_name in DOH_HOSTS:
            dest.opaque = "doh"
    else:
        dest.opaque = dest.opaque or "tls-no-sni"


def _plain_ipv4(frame: Frame) -> bool:
    """Ethernet, IPv4 without options, not a fragment: the frames the raw path keys on."""
    data = frame.data
    return frame.linktype == 1 and len(data) >= 42 and data[12:15] == b"\x08\x00\x45" and not (
        data[20] & 0x3F | data[21])  # fmt: skip
