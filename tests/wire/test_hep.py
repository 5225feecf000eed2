"""HEP v3 decode/encode round trip, v1/v2 decoding, anomalies and TCP framing."""

from __future__ import annotations

import gzip
import ipaddress
import socket
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.wire.hep import HepDecoder, HepPacket, HepStreamFramer, decode_hep, encode_hep

SIP = b"OPTIONS sip:100@192.0.2.10 SIP/2.0\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\n\r\n"


def chunk(kind: int, value: bytes, vendor: int = 0) -> bytes:
    return struct.pack("!HHH", vendor, kind, len(value) + 6) + value


def hep3(*chunks: bytes) -> bytes:
    body = b"".join(chunks)
    return b"HEP3" + struct.pack("!H", len(body) + 6) + body


BASE = [
    chunk(1, b"\x02"), chunk(2, b"\x11"), chunk(3, bytes([192, 0, 2, 1])), chunk(4, bytes([192, 0, 2, 2])),
    chunk(7, struct.pack("!H", 5060)), chunk(8, struct.pack("!H", 5080)),
    chunk(9, struct.pack("!I", 1_700_000_000)), chunk(10, struct.pack("!I", 250_000)), chunk(11, b"\x01"),
]  # fmt: skip


def test_decode_hand_built_v3() -> None:
    data = hep3(*BASE, chunk(12, struct.pack("!I", 2001)), chunk(14, b"secret"), chunk(15, SIP),
                chunk(17, b"call-1"), chunk(18, b"\x00\x07"), chunk(19, b"node-a"), chunk(23, b"\x18"),
                chunk(42, b"vendor data", vendor=0x0123))  # fmt: skip
    packet = decode_hep(data)
    assert packet is not None
    assert (packet.version, packet.ip_family, packet.ip_proto) == (3, 2, 17)
    assert (packet.src, packet.sport, packet.dst, packet.dport) == ("192.0.2.1", 5060, "192.0.2.2", 5080)
    assert packet.time == 1_700_000_000.25 and packet.proto_type == 1 and packet.capture_id == 2001
    assert (packet.auth_key, packet.correlation_id, packet.vlan, packet.node_name) == (
        "secret",
        "call-1",
        7,
        "node-a",
    )
    assert packet.payload == SIP and packet.anomalies == ()
    assert packet.other_chunks == [(0, 23, b"\x18"), (0x0123, 42, b"vendor data")]


@pytest.mark.parametrize("compress", [zlib.compress, gzip.compress])
def test_compressed_payload(compress: object) -> None:
    assert callable(compress)
    packet = decode_hep(hep3(*BASE, chunk(16, compress(SIP))))
    assert packet is not None and packet.payload == SIP


def test_compressed_payload_bomb_and_corruption_are_flagged() -> None:
    decoder = HepDecoder()
    bomb = decoder.decode(hep3(*BASE, chunk(16, zlib.compress(b"\x00" * 200_000))))
    corrupt = decoder.decode(hep3(*BASE, chunk(16, b"not zlib")))
    assert bomb is None and corrupt is None
    assert decoder.anomalies["bad-compressed-payload"] == 2 and decoder.anomalies["missing-payload"] == 2


@pytest.mark.parametrize(
    ("data", "flag", "decoded"),
    [
        (b"GET / HTTP/1.1\r\n", "not-hep", False),
        (b"HEP3\x00", "truncated-header", False),
        (hep3(*BASE), "missing-payload", False),
        (hep3(*BASE, chunk(15, SIP))[:-5], "length-mismatch", False),  # payload chunk cut: unusable
        (hep3(*BASE, chunk(15, SIP)) + b"xx", "length-mismatch", True),
        (hep3(*BASE, chunk(15, SIP), b"\x00\x00\x00\x01\x00\x02"), "bad-chunk-length", True),
        (hep3(*BASE, chunk(15, SIP), b"\x00\x00\x00\x01\x00\xff"), "chunk-past-end", True),
        (hep3(*BASE[:2], chunk(3, b"\x01\x02\x03"), *BASE[3:], chunk(15, SIP)), "bad-address-length", True),
        (hep3(*BASE[2:], chunk(15, SIP)), "missing-family", True),
        (hep3(*BASE[:6], *BASE[7:], chunk(15, SIP)), "missing-time", True),
    ],
)  # fmt: skip
def test_anomalies(data: bytes, flag: str, decoded: bool) -> None:
    decoder = HepDecoder()
    packet = decoder.decode(data)
    assert decoder.anomalies[flag] == 1
    assert (packet is not None) is decoded
    if packet is not None:
        assert flag in packet.anomalies


def test_bad_chunk_size_still_reads_value() -> None:
    packet = decode_hep(hep3(*BASE, chunk(7, b"\x13\xc4\x00"), chunk(15, SIP)))  # 3-byte port chunk
    assert packet is not None and "bad-chunk-size" in packet.anomalies


def test_hep_v2_and_v1() -> None:
    v2 = struct.pack("!BBBBHH", 2, 28, 2, 17, 5060, 5080) + bytes([198, 51, 100, 1, 203, 0, 113, 2])
    v2 += struct.pack("<IIH2x", 1_600_000_000, 500_000, 77) + SIP
    packet = decode_hep(v2)
    assert packet is not None
    assert (packet.version, packet.src, packet.dst, packet.sport, packet.dport) == (
        2,
        "198.51.100.1",
        "203.0.113.2",
        5060,
        5080,
    )
    assert (packet.time, packet.capture_id, packet.payload) == (1_600_000_000.5, 77, SIP)
    v1 = struct.pack("!BBBBHH", 1, 40, 10, 6, 5061, 5062) + bytes(15) + b"\x01" + bytes(15) + b"\x02" + SIP
    packet = decode_hep(v1)
    assert packet is not None
    assert (packet.version, packet.ip_proto, packet.src, packet.dst) == (1, 6, "::1", "::2")
    assert packet.anomalies == ("no-timestamp",) and packet.payload == SIP
    assert decode_hep(v2[:20]) is None  # header claims more than present


def canonical(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """The decoder's spelling (inet_ntop), which differs from str() for IPv4-mapped IPv6."""
    family = socket.AF_INET if address.version == 4 else socket.AF_INET6
    return socket.inet_ntop(family, address.packed)


addresses = st.one_of(st.ip_addresses(v=4).map(canonical), st.ip_addresses(v=6).map(canonical))


@st.composite
def hep_packets(draw: st.DrawFn) -> HepPacket:
    src = draw(addresses)
    v6 = ipaddress.ip_address(src).version == 6
    dst = draw(st.ip_addresses(v=6 if v6 else 4).map(canonical))
    seconds, micros = draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 999_999))
    text = st.text(max_size=20)
    optional_int = st.one_of(st.none(), st.integers(0, 2**16 - 1))
    ports = st.integers(0, 65535)
    return HepPacket(
        version=3,
        ip_family=10 if v6 else 2,
        ip_proto=draw(st.integers(0, 255)),
        src=src,
        dst=dst,
        sport=draw(ports),
        dport=draw(ports),
        time=seconds + micros / 1_000_000,
        proto_type=draw(st.integers(0, 255)),
        capture_id=draw(st.one_of(st.none(), st.integers(0, 2**32 - 1))),
        auth_key=draw(st.none() | text),
        payload=draw(st.binary(max_size=300)),
        correlation_id=draw(st.none() | text),
        vlan=draw(optional_int),
        node_name=draw(st.none() | text),
        other_chunks=draw(
            st.lists(st.tuples(st.integers(1, 65535), ports, st.binary(max_size=20)), max_size=3)
        ),
    )


@settings(max_examples=300, deadline=None)
@given(hep_packets())
def test_round_trip(packet: HepPacket) -> None:
    assert decode_hep(encode_hep(packet)) == packet


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.binary(max_size=300).map(lambda b: b"HEP3" + b)))
def test_fuzz_decode_never_raises(data: bytes) -> None:
    decoder = HepDecoder()
    decoder.decode(data)
    assert sum(decoder.anomalies.values()) >= 0


@settings(max_examples=300, deadline=None)
@given(hep_packets(), st.binary(max_size=40), st.integers(1, 50))
def test_fuzz_decode_mutated_records(packet: HepPacket, noise: bytes, cut: int) -> None:
    data = encode_hep(packet)
    decode_hep(data[:-cut] + noise)
    decode_hep(data[:cut] + noise + data[cut:])


def test_stream_framer_across_chunks_with_garbage() -> None:
    records = [
        encode_hep(HepPacket(src="192.0.2.1", dst="192.0.2.2", payload=SIP + bytes([i]))) for i in range(3)
    ]
    stream = b"junk" + records[0] + b"HEP" + records[1] + b"\x00\x00HEP3\x00\x01" + records[2]
    framer = HepStreamFramer()
    out = [r for i in range(0, len(stream), 7) for r in framer.feed(stream[i : i + 7])]
    assert out == records
    assert framer.anomalies["garbage"] >= 2 and framer.anomalies["bad-length"] == 1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=8))
def test_fuzz_stream_framer_bounded(chunks: list[bytes]) -> None:
    framer = HepStreamFramer(max_buffer=1024)
    for data in chunks:
        for record in framer.feed(b"HEP3" + data):
            assert record.startswith(b"HEP3")
        assert len(framer._buffer) <= 1024
