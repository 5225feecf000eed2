"""Frames in, application records out: the one place that knows which decoder a payload belongs to.

SIP is recognised by its start line on any port (attackers use 5060-5080, TCP and odd ports), HEP by
its magic, DNS by port, TLS and HTTP by their first bytes on a TCP stream. Each TCP stream direction
is classified once, then framed by that protocol's framer. State is bounded: flow table size and the
bytes buffered before a stream is classified.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Iterable
from typing import Any, Generic, Protocol, TypeVar

from phonewarden.core.records import Frame, Segment, envelope
from phonewarden.wire.dns import DnsTcpFramer, parse_dns
from phonewarden.wire.hep import HepDecoder, HepPacket, HepStreamFramer
from phonewarden.wire.http import HttpRequestFramer, looks_like_http_request
from phonewarden.wire.ip import address_text
from phonewarden.wire.link import LINKTYPE_ETHERNET
from phonewarden.wire.packets import ETH_IPV4_UDP, PacketDecoder
from phonewarden.wire.sip import SIP_START_LINE, SipStreamFramer, looks_like_sip, parse_sip
from phonewarden.wire.tls import looks_like_tls, parse_client_hello, tls_record_needs_more

DNS_PORTS = frozenset({53, 5353, 5355})
HEP_PROTO_TYPE_SIP = 1
IP_PROTO_NAMES = {6: "tcp", 17: "udp", 132: "sctp"}
MAX_UNCLASSIFIED_BYTES = 16384
MAX_START_LINE = 4096
# Ethernet type; IPv6 version byte, payload length, next header, addresses; UDP ports and length.
_ETH_IPV6_UDP = struct.Struct("!12xHB3xHBx16s16sHHH")


class JsonBody(Protocol):
    def to_json(self) -> dict[str, Any]: ...


BodyT = TypeVar("BodyT", bound=JsonBody)


class NetworkRecord(Generic[BodyT]):
    """An application message with the addresses it travelled between (and the HEP facts if any).
    A plain class, not a dataclass: mypyc compiles no generic dataclass."""

    __slots__ = ("body", "hep", "hep_agent", "segment", "type")

    def __init__(
        self,
        type: str,  # "sip" | "dns" | "http" | "tls"
        segment: Segment,
        body: BodyT,
        hep: HepPacket | None = None,
        hep_agent: str | None = None,  # address the HEP packet came from
    ) -> None:
        self.type = type
        self.segment = segment
        self.body = body
        self.hep = hep
        self.hep_agent = hep_agent

    def __repr__(self) -> str:
        return f"NetworkRecord(type={self.type!r}, segment={self.segment!r}, body={self.body!r})"

    @property
    def time(self) -> float:
        return self.segment.time

    def to_json(self) -> dict[str, Any]:
        record = envelope(self.segment, self.type)
        record.update(self.body.to_json())
        if self.hep is not None:
            record["hep"] = hep_facts(self.hep, self.hep_agent)
        return record


def hep_facts(packet: HepPacket, agent: str | None) -> dict[str, Any]:
    facts: dict[str, Any] = {"version": packet.version, "proto_type": packet.proto_type}
    optional = {
        "capture_id": packet.capture_id,
        "correlation_id": packet.correlation_id,
        "node_name": packet.node_name,
        "vlan": packet.vlan,
        "agent": agent,
    }
    facts.update({key: value for key, value in optional.items() if value is not None})
    return facts


class _StreamState:
    """What one TCP stream direction has been recognised as, and its framer."""

    __slots__ = ("buffer", "framer", "kind")

    def __init__(self) -> None:
        self.kind = "unknown"  # unknown | sip | http | tls | dns | hep | opaque
        self.framer: Any = None
        self.buffer = b""


class TrafficDecoder:
    """Feed frames (or HEP datagrams); get SIP, DNS, HTTP and TLS records. A pipeline stage."""

    name = "decode"

    def __init__(self, max_streams: int = 65536) -> None:
        self.packets = PacketDecoder()
        self.hep = HepDecoder()
        self.max_streams = max_streams
        self.streams: dict[tuple[str, int, str, int], _StreamState] = {}
        self.frames = 0
        self.stats: Counter[str] = Counter()
        self.dispatch_anomalies: Counter[str] = Counter()

    @property
    def anomalies(self) -> Counter[str]:
        """Everything skipped or malformed, from every layer."""
        merged = Counter(self.packets.anomalies)
        merged.update(self.hep.anomalies)
        merged.update(self.dispatch_anomalies)
        return merged

    def feed(self, frame: Frame) -> list[NetworkRecord[Any]]:
        self.frames += 1
        segments = self.packets.feed(frame)
        if not segments:
            return []
        if len(segments) == 1 and segments[0].transport == "udp":  # the hot path: one SIP datagram
            return self.datagram(segments[0])
        records: list[NetworkRecord[Any]] = []
        for segment in segments:
            records.extend(self.segment(segment))
        if self.packets.tcp.has_closed:
            for key in self.packets.pop_closed():
                self.streams.pop(key, None)
        return records

    def feed_batch(self, frames: Iterable[Frame]) -> list[NetworkRecord[Any]]:
        """feed() over `frames`, the records in order. An Ethernet frame with an unfragmented IPv4 packet, or
        an IPv6 one without extension headers, whose UDP payload is SIP (most of a SIP capture) becomes its
        record here at once: one struct call, no segment list and no dispatch calls, with the checks of
        PacketDecoder/IpDecoder and datagram(). Every other frame takes feed()."""
        records: list[NetworkRecord[Any]] = []
        append, extend, feed = records.append, records.extend, self.feed
        unpack4, unpack6, names = ETH_IPV4_UDP.unpack_from, _ETH_IPV6_UDP.unpack_from, self.packets.names
        sip_start, ip = SIP_START_LINE.match, self.packets.ip
        fast = 0
        for frame in frames:
            data = frame.data
            if frame.linktype == LINKTYPE_ETHERNET and len(data) >= 42:
                ethertype, version_ihl, total, flags_offset, proto, src, dst, sport, dport, udp_len = unpack4(
                    data, 0
                )
                if ethertype == 0x0800:
                    if not (
                        version_ihl == 0x45
                        and proto == 17
                        and not flags_offset & 0x3FFF
                        and 8 <= udp_len <= total - 20
                        and total + 14 <= len(data)
                    ):
                        extend(feed(frame))
                        continue
                    payload = data[42 : 34 + udp_len]
                elif ethertype == 0x86DD and len(data) >= 62:
                    _, version, ip_len, next_header, src, dst, sport, dport, udp_len = unpack6(data, 0)
                    if not (
                        version >> 4 == 6
                        and next_header == 17
                        and 8 <= udp_len <= ip_len
                        and 54 + ip_len <= len(data)
                        and not ip.pending_datagrams  # IpDecoder.feed would expire fragments first
                    ):
                        extend(feed(frame))
                        continue
                    payload = data[62 : 54 + udp_len]
                else:
                    extend(feed(frame))
                    continue
                # HEP is recognised first in datagram(): "HEP3 x SIP/2.0" would pass for a request line
                if sip_start(payload) is not None and payload[:4] != b"HEP3":
                    fast += 1
                    segment = Segment(
                        frame.time, "udp", names.get(src) or address_text(src, names), sport,
                        names.get(dst) or address_text(dst, names), dport, payload,
                    )  # fmt: skip
                    append(NetworkRecord("sip", segment, parse_sip(payload)))
                    continue
            extend(feed(frame))
        self.frames += fast
        return records

    def segment(self, segment: Segment) -> list[NetworkRecord[Any]]:
        """Records from one transport segment (a UDP datagram or in-order TCP stream bytes)."""
        return self.datagram(segment) if segment.transport == "udp" else self._stream(segment)

    def process(self, frame: Frame) -> list[NetworkRecord[Any]]:
        return self.feed(frame)

    def datagram(self, segment: Segment, hep_agent: str | None = None) -> list[NetworkRecord[Any]]:
        """Classify one UDP payload (or one HEP-carried payload when hep_agent is set)."""
        payload = segment.payload
        if payload.startswith(b"HEP3") or (payload.startswith(b"\x02") and segment.dport == 9060):
            return self.hep_payload(payload, segment.src)
        if looks_like_sip(payload):
            return [NetworkRecord("sip", segment, parse_sip(payload))]
        if segment.sport in DNS_PORTS or segment.dport in DNS_PORTS:
            message = parse_dns(payload)
            if message is not None:
                return [NetworkRecord("dns", segment, message)]
            self.dispatch_anomalies["dns-undecodable"] += 1
        return []

    def hep_payload(self, data: bytes, agent: str | None) -> list[NetworkRecord[Any]]:
        packet = self.hep.decode(data)
        return [] if packet is None else self.hep_records(packet, agent)

    def hep_records(self, packet: HepPacket, agent: str | None) -> list[NetworkRecord[Any]]:
        """The records carried by one decoded HEP packet sent by `agent`."""
        self.stats["hep"] += 1
        inner = Segment(
            time=packet.time,
            transport=IP_PROTO_NAMES.get(packet.ip_proto, str(packet.ip_proto)),
            src=packet.src,
            sport=packet.sport,
            dst=packet.dst,
            dport=packet.dport,
            payload=packet.payload,
        )
        if packet.proto_type == HEP_PROTO_TYPE_SIP or looks_like_sip(packet.payload):
            return [NetworkRecord("sip", inner, parse_sip(packet.payload), packet, agent)]
        self.stats[f"hep-proto-type-{packet.proto_type}"] += 1
        return []

    def _stream(self, segment: Segment) -> list[NetworkRecord[Any]]:
        key = (segment.src, segment.sport, segment.dst, segment.dport)
        state = self.streams.get(key)
        if state is None:
            if len(self.streams) >= self.max_streams:
                del self.streams[next(iter(self.streams))]
                self.dispatch_anomalies["stream-evicted"] += 1
            state = self.streams[key] = _StreamState()
        if state.kind == "unknown":
            state.buffer += segment.payload
            data = state.buffer.lstrip(b"\r\n")
            if len(data) < 4:
                return []
            self._classify(state, segment, data)
            if state.kind == "unknown":
                if len(state.buffer) > MAX_UNCLASSIFIED_BYTES:
                    state.kind, state.buffer = "opaque", b""
                return []
            data, state.buffer = state.buffer, b""
        else:
            data = segment.payload
        return self._frame(state, segment, data)

    def _classify(self, state: _StreamState, segment: Segment, data: bytes) -> None:
        """Decide what a stream carries from its first bytes; leave it unknown while that needs more."""
        if data[:4] == b"HEP3":
            state.kind, state.framer = "hep", HepStreamFramer()
        elif segment.sport in DNS_PORTS or segment.dport in DNS_PORTS:
            state.kind, state.framer = "dns", DnsTcpFramer()
        elif looks_like_tls(data):
            if not tls_record_needs_more(data) or len(data) > MAX_UNCLASSIFIED_BYTES:
                state.kind = "tls"
        elif b"\n" not in data and len(data) < MAX_START_LINE:
            return  # SIP and HTTP are told apart by the whole first line
        elif looks_like_sip(data):
            state.kind, state.framer = "sip", SipStreamFramer()
        elif looks_like_http_request(data):
            state.kind, state.framer = "http", HttpRequestFramer()
        else:
            state.kind = "opaque"

    def _frame(self, state: _StreamState, segment: Segment, data: bytes) -> list[NetworkRecord[Any]]:
        kind = state.kind
        if kind == "sip":
            return [NetworkRecord("sip", segment, parse_sip(raw)) for raw in state.framer.feed(data)]
        if kind == "http":
            return [NetworkRecord("http", segment, request) for request in state.framer.feed(data)]
        if kind == "dns":
            return [NetworkRecord("dns", segment, message) for message in state.framer.feed(data)]
        if kind == "hep":
            records: list[NetworkRecord[Any]] = []
            for raw in state.framer.feed(data):
                records.extend(self.hep_payload(raw, segment.src))
            return records
        if kind == "tls":
            state.kind = "opaque"  # only the ClientHello is of interest; the rest is encrypted
            hello = parse_client_hello(data)
            return [] if hello is None else [NetworkRecord("tls", segment, hello)]
        return []
