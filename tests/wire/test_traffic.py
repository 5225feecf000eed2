"""Which decoder a payload reaches: SIP by start line on any port, HEP by magic, DNS by port,
HTTP/TLS by a TCP stream's first bytes; bounded stream state."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.capture.replay import CaptureReplay
from phonewarden.core.records import Frame, Segment
from phonewarden.wire.hep import HepPacket, encode_hep
from phonewarden.wire.traffic import TrafficDecoder

DATA = Path(__file__).resolve().parent.parent / "data"
OPTIONS = (
    b"OPTIONS sip:100@203.0.113.5 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bK-1;rport\r\n"
    b"From: <sip:100@198.51.100.7>;tag=1\r\nTo: <sip:100@203.0.113.5>\r\nCall-ID: 1234\r\n"
    b"CSeq: 1 OPTIONS\r\nUser-Agent: friendly-scanner\r\nContent-Length: 0\r\n\r\n"
)


def seg(
    payload: bytes, transport: str = "udp", sport: int = 40000, dport: int = 40001, t: float = 1.0
) -> Segment:
    return Segment(t, transport, "198.51.100.7", sport, "203.0.113.5", dport, payload)


def test_sip_is_found_on_any_port_and_garbage_on_5060_is_not_sip() -> None:
    decoder = TrafficDecoder()
    [record] = decoder.segment(seg(OPTIONS, sport=41234, dport=6543))
    assert record.type == "sip" and record.body.user_agent == "friendly-scanner"
    assert record.to_json()["dport"] == 6543
    assert decoder.segment(seg(b"\x00\x01 not sip at all", dport=5060)) == []


def test_dns_only_on_dns_ports_and_undecodable_dns_is_counted() -> None:
    query = bytes.fromhex("abcd01000001000000000000") + b"\x05phone\x07example\x04test\x00\x00\x01\x00\x01"
    decoder = TrafficDecoder()
    [record] = decoder.segment(seg(query, dport=53))
    assert record.type == "dns" and record.body.questions[0].name == "phone.example.test"
    assert decoder.segment(seg(query, dport=5300)) == []
    assert decoder.segment(seg(b"\x01", dport=53)) == []
    assert decoder.anomalies["dns-undecodable"] == 1


def test_hep_in_udp_gives_the_inner_sip_with_hep_facts() -> None:
    packet = HepPacket(
        version=3, ip_family=2, ip_proto=17, src="198.51.100.9", dst="203.0.113.5", sport=5062, dport=5060,
        time=1_700_000_123.5, proto_type=1, capture_id=7, auth_key=None, payload=OPTIONS,
        correlation_id="corr-1", vlan=None, node_name="edge-1", other_chunks=[],
    )  # fmt: skip
    [record] = TrafficDecoder().segment(seg(encode_hep(packet), sport=50000, dport=9060))
    data = record.to_json()
    assert (data["src"], data["sport"], data["time"]) == ("198.51.100.9", 5062, "2023-11-14T22:15:23.500000Z")
    assert data["hep"] == {
        "version": 3, "proto_type": 1, "capture_id": 7, "correlation_id": "corr-1", "node_name": "edge-1",
        "agent": "198.51.100.7",
    }  # fmt: skip


def test_sip_over_tcp_split_across_segments_and_two_in_one() -> None:
    decoder = TrafficDecoder()
    assert decoder.segment(seg(b"\r\n" + OPTIONS[:30], "tcp")) == []
    first, second = decoder.segment(seg(OPTIONS[30:] + OPTIONS, "tcp", t=2.0))
    assert first.body.call_id == second.body.call_id == "1234" and first.time == 2.0
    assert first.body.anomalies == ()
    assert decoder.segment(seg(b"", "tcp")) == []
    assert len(decoder.streams) == 1


def test_http_and_tls_streams_are_classified_by_their_first_bytes() -> None:
    decoder = TrafficDecoder()
    request = b"POST /activate HTTP/1.1\r\nHost: zzhc.example.test\r\nContent-Length: 4\r\n\r\nIMEI"
    [http] = decoder.segment(seg(request, "tcp", sport=1, dport=8080))
    assert (http.type, http.body.host, http.body.body) == ("http", "zzhc.example.test", b"IMEI")
    hello = (DATA / "appwire" / "tls_openssl_clienthello.bin").read_bytes()
    assert decoder.segment(seg(hello[:20], "tcp", sport=2, dport=443)) == []  # waits for the rest
    [tls] = decoder.segment(seg(hello[20:], "tcp", sport=2, dport=443))
    assert tls.type == "tls" and tls.body.sni
    assert decoder.segment(seg(b"\x17\x03\x03 application data", "tcp", sport=2, dport=443)) == []


def test_unrecognised_streams_become_opaque_and_the_table_is_bounded() -> None:
    decoder = TrafficDecoder(max_streams=2)
    for port in range(3):
        assert decoder.segment(seg(b"SSH-2.0-OpenSSH\r\n", "tcp", sport=port)) == []
    assert len(decoder.streams) == 2
    assert decoder.anomalies["stream-evicted"] == 1
    assert all(state.kind == "opaque" for state in decoder.streams.values())


# --- feed_batch: the fast path for plain Ethernet/IP/UDP SIP frames must change nothing ----------------


def _udp(payload: bytes, sport: int = 5062, dport: int = 5060, length: int | None = None) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload) if length is None else length, 0) + payload


def _ipv4(payload: bytes, *, flags_offset: int = 0, proto: int = 17, total: int | None = None) -> bytes:
    addresses = socket.inet_aton("198.51.100.7") + socket.inet_aton("203.0.113.5")
    size = 20 + len(payload) if total is None else total
    return struct.pack("!BBHHHBBH", 0x45, 0, size, 9, flags_offset, 64, proto, 0) + addresses + payload


def _ipv6(payload: bytes, next_header: int = 17, length: int | None = None) -> bytes:
    addresses = b"".join(socket.inet_pton(socket.AF_INET6, a) for a in ("2001:db8::7", "2001:db8::5"))
    size = len(payload) if length is None else length
    return struct.pack("!IHBB", 0x60000000, size, next_header, 64) + addresses + payload


def _ether(packet: bytes, ethertype: int) -> bytes:
    return bytes(range(12)) + struct.pack("!H", ethertype) + packet


# Frames of every kind next to the fast path's: padding, VLAN, fragments (IPv4 and IPv6), an IPv6
# extension header, HEP that reads like a request line, DNS, bad lengths, truncation, another link type.
EDGE_FRAMES = [
    _ether(_ipv4(_udp(OPTIONS)), 0x0800) + bytes(6),
    _ether(_ipv6(_udp(OPTIONS)), 0x86DD),
    _ether(_ipv6(_udp(OPTIONS)), 0x86DD) + bytes(4),
    bytes(range(12)) + struct.pack("!HHH", 0x8100, 42, 0x0800) + _ipv4(_udp(OPTIONS)),
    _ether(_ipv4(_udp(OPTIONS[:64]), flags_offset=0x2000), 0x0800),
    _ether(_ipv6(struct.pack("!BBHI", 17, 0, 0x0001, 77) + _udp(OPTIONS)[:64], next_header=44), 0x86DD),
    _ether(_ipv6(_udp(OPTIONS)), 0x86DD),  # while the IPv6 fragment above waits for the rest
    _ether(_ipv6(bytes([17, 0, 1, 4, 0, 0, 0, 0]) + _udp(OPTIONS), next_header=0), 0x86DD),
    _ether(_ipv4(_udp(b"HEP3 sip:x SIP/2.0\r\n\r\n")), 0x0800),
    _ether(_ipv4(_udp(b"HEP3 sip:x SIP/2.0\r\n\r\n", dport=9060)), 0x0800),
    _ether(_ipv4(_udp(bytes.fromhex("abcd0100000100000000000000") + b"\x00\x01\x00\x01", dport=53)), 0x0800),
    _ether(_ipv4(_udp(OPTIONS, length=7)), 0x0800),
    _ether(_ipv4(_udp(OPTIONS, length=len(OPTIONS) + 9)), 0x0800),
    _ether(_ipv6(_udp(OPTIONS, length=len(OPTIONS) + 9)), 0x86DD),
    _ether(_ipv6(_udp(OPTIONS), length=len(OPTIONS) + 20), 0x86DD),
    _ether(_ipv6(_udp(OPTIONS), length=4), 0x86DD),
    _ether(_ipv4(_udp(OPTIONS), total=30), 0x0800),
    _ether(_ipv4(_udp(OPTIONS), proto=6), 0x0800),
    _ether(_ipv4(_udp(b"not sip at all")), 0x0800),
    _ether(_ipv6(_udp(OPTIONS))[:30], 0x86DD),
]


def _one_by_one_and_batched(frames: list[Frame], batch: int) -> tuple[TrafficDecoder, ...]:
    one_by_one, batched = TrafficDecoder(), TrafficDecoder()
    expected = [record.to_json() for frame in frames for record in one_by_one.feed(frame)]
    got = []
    for start in range(0, len(frames), batch):
        got += [record.to_json() for record in batched.feed_batch(frames[start : start + batch])]
    assert got == expected
    assert batched.frames == one_by_one.frames == len(frames)
    assert batched.anomalies == one_by_one.anomalies
    assert batched.packets.ip.pending_datagrams == one_by_one.packets.ip.pending_datagrams
    return one_by_one, batched


CAPTURES = sorted(p.name for p in (DATA / "captures").glob("*.pcap*") if p.suffix != ".tsv")


@pytest.mark.parametrize("name", CAPTURES)
def test_feed_batch_gives_what_feed_gives_on_every_committed_capture(name: str) -> None:
    frames = list(CaptureReplay(DATA / "captures" / name, progress=False))
    one_by_one, _ = _one_by_one_and_batched(frames, 64)
    assert one_by_one.frames > 0


def test_feed_batch_gives_what_feed_gives_next_to_the_fast_path() -> None:
    frames = [Frame(10.0 + n, 1, data, len(data)) for n, data in enumerate(EDGE_FRAMES)]
    one_by_one, _ = _one_by_one_and_batched(frames, 5)
    assert one_by_one.anomalies  # the edge frames did reach the checks around the fast path
    assert one_by_one.packets.ip.pending_datagrams == 2


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(EDGE_FRAMES), st.integers(0, 200), st.integers(0, 255), st.integers(0, 80)),
        max_size=12,
    )
)
def test_fuzz_feed_batch_gives_what_feed_gives(edits: list[tuple[bytes, int, int, int]]) -> None:
    frames = []
    for index, (data, position, value, cut) in enumerate(edits):
        position %= len(data)
        data = data[:position] + bytes([value]) + data[position + 1 :]
        frames.append(Frame(float(index), 1, data[: len(data) - cut], len(data)))
    _one_by_one_and_batched(frames, 4)


def test_an_ipv6_sip_frame_expires_fragments_that_timed_out_as_feed_does() -> None:
    fragment, sip = EDGE_FRAMES[5], EDGE_FRAMES[6]
    frames = [Frame(0.0, 1, fragment, len(fragment)), Frame(100.0, 1, sip, len(sip))]
    one_by_one, _ = _one_by_one_and_batched(frames, 2)
    assert one_by_one.packets.ip.pending_datagrams == 0
