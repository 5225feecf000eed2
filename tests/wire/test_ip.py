from __future__ import annotations

import random
import socket
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.wire.ip import IpDecoder, IpPacket

SRC4, DST4 = "192.0.2.1", "198.51.100.7"
SRC6, DST6 = "2001:db8::1", "2001:db8:0:1::2"


def ipv4(
    payload: bytes,
    *,
    proto: int = 17,
    ident: int = 1,
    offset: int = 0,
    more: bool = False,
    options: bytes = b"",
) -> bytes:
    header_len = 20 + len(options)
    flags = (0x2000 if more else 0) | (offset // 8)
    return (
        struct.pack(
            "!BBHHHBBH4s4s",
            0x40 | header_len // 4,
            0,
            header_len + len(payload),
            ident,
            flags,
            64,
            proto,
            0,
            socket.inet_aton(SRC4),
            socket.inet_aton(DST4),
        )
        + options
        + payload
    )


def ipv6(next_header: int, payload: bytes) -> bytes:
    return (
        struct.pack("!IHBB", 0x60000000, len(payload), next_header, 64)
        + socket.inet_pton(socket.AF_INET6, SRC6)
        + socket.inet_pton(socket.AF_INET6, DST6)
        + payload
    )


def extension(next_header: int, units: int = 0) -> bytes:
    """Hop-by-hop / routing / destination options header of (units + 1) * 8 bytes."""
    return bytes([next_header, units]) + bytes(6 + 8 * units)


def fragment6(next_header: int, offset: int, more: bool, ident: int = 7) -> bytes:
    return struct.pack("!BxHI", next_header, offset | int(more), ident)


def fragments4(payload: bytes, size: int, ident: int = 1) -> list[bytes]:
    return [
        ipv4(payload[start : start + size], ident=ident, offset=start, more=start + size < len(payload))
        for start in range(0, len(payload), size)
    ]


def test_ipv4_basic_and_padding_trimmed() -> None:
    decoder = IpDecoder()
    packet = decoder.feed(5.0, 4, ipv4(b"hello", options=b"\x01" * 4) + b"\0" * 6)
    assert packet == IpPacket(5.0, 4, SRC4, DST4, 17, b"hello")
    assert not decoder.anomalies


def test_ipv4_zero_total_length_from_segmentation_offload() -> None:
    data = bytearray(ipv4(b"payload", proto=6))
    data[2:4] = b"\0\0"
    packet = IpDecoder().feed(0.0, 4, bytes(data))
    assert packet is not None and packet.payload == b"payload"


@pytest.mark.parametrize(
    ("data", "anomaly"),
    [
        (ipv4(b"x")[:19], "ipv4-truncated"),
        (b"\x44" + ipv4(b"x")[1:], "ipv4-bad-header-length"),
        (b"\x65" + ipv4(b"x")[1:], "ipv4-bad-version"),
        (ipv4(b"abc")[:-1], "ipv4-truncated"),
        (ipv4(b"")[:2] + b"\x00\x10" + ipv4(b"")[4:], "ipv4-bad-total-length"),
        (ipv4(b"", options=bytes(8))[:24], "ipv4-truncated"),
    ],
)
def test_ipv4_malformed(data: bytes, anomaly: str) -> None:
    decoder = IpDecoder()
    assert decoder.feed(0.0, 4, data) is None
    assert decoder.anomalies == {anomaly: 1}


def test_unknown_version() -> None:
    decoder = IpDecoder()
    assert decoder.feed(0.0, 5, ipv4(b"x")) is None
    assert decoder.anomalies == {"ip-bad-version": 1}


def test_ipv4_fragments_out_of_order_with_duplicates() -> None:
    payload = bytes(random.Random(1).randbytes(3000))
    pieces = fragments4(payload, 800)
    decoder = IpDecoder()
    results = [
        decoder.feed(float(i), 4, data) for i, data in enumerate([pieces[3], pieces[1], pieces[1], pieces[0]])
    ]
    assert results == [None] * 4
    packet = decoder.feed(9.0, 4, pieces[2])
    assert packet == IpPacket(9.0, 4, SRC4, DST4, 17, payload)
    assert decoder.pending_datagrams == 0
    assert not decoder.anomalies


def test_ipv4_overlapping_fragments_first_arrival_wins() -> None:
    payload = bytes(range(48))
    decoder = IpDecoder()
    assert decoder.feed(0.0, 4, ipv4(payload[:24], offset=0, more=True)) is None
    conflicting = b"X" * 8 + payload[24:32]  # rewrites bytes 16..24 that already arrived
    assert decoder.feed(0.0, 4, ipv4(conflicting, offset=16, more=True)) is None
    packet = decoder.feed(0.0, 4, ipv4(payload[32:], offset=32))
    assert packet is not None and packet.payload == payload
    assert decoder.anomalies == {"ipv4-fragment-overlap": 1}


def test_fragments_of_different_datagrams_do_not_mix() -> None:
    decoder = IpDecoder()
    first, second = fragments4(b"A" * 16, 8, ident=1), fragments4(b"B" * 16, 8, ident=2)
    assert decoder.feed(0.0, 4, first[0]) is None
    assert decoder.feed(0.0, 4, second[1]) is None
    assert decoder.feed(0.0, 4, second[0]) == IpPacket(0.0, 4, SRC4, DST4, 17, b"B" * 16)
    assert decoder.feed(0.0, 4, first[1]) == IpPacket(0.0, 4, SRC4, DST4, 17, b"A" * 16)


def test_pending_datagrams_are_bounded_and_evictions_counted() -> None:
    decoder = IpDecoder(max_pending=3)
    for ident in range(5):
        decoder.feed(0.0, 4, fragments4(b"z" * 16, 8, ident=ident)[0])
    assert decoder.pending_datagrams == 3
    assert decoder.anomalies == {"ipv4-fragment-evicted": 2}
    assert decoder.feed(0.0, 4, fragments4(b"z" * 16, 8, ident=0)[1]) is None  # its first half is gone
    assert decoder.feed(0.0, 4, fragments4(b"z" * 16, 8, ident=4)[1]) is not None


def test_pending_bytes_are_bounded() -> None:
    decoder = IpDecoder(max_pending_bytes=2000)
    for ident in range(3):
        decoder.feed(0.0, 4, fragments4(bytes(2000), 800, ident=ident)[0])
    assert decoder.pending_datagrams == 2
    assert decoder.anomalies == {"ipv4-fragment-evicted": 1}


def test_fragment_timeout_uses_event_time() -> None:
    decoder = IpDecoder(fragment_timeout=30.0)
    first, last = fragments4(b"t" * 16, 8)
    decoder.feed(100.0, 4, first)
    decoder.feed(129.0, 4, ipv4(b"unrelated"))
    assert decoder.pending_datagrams == 1
    decoder.feed(131.0, 4, ipv4(b"unrelated"))
    assert decoder.pending_datagrams == 0
    assert decoder.anomalies == {"ipv4-fragment-timeout": 1}
    assert decoder.feed(131.0, 4, last) is None


@pytest.mark.parametrize(
    ("data", "anomaly"),
    [
        (ipv4(b"seven b", offset=8, more=True), "ipv4-fragment-bad-length"),
        (ipv4(bytes(100), offset=65528), "ipv4-fragment-too-large"),
    ],
)
def test_bad_fragments(data: bytes, anomaly: str) -> None:
    decoder = IpDecoder()
    assert decoder.feed(0.0, 4, data) is None
    assert decoder.anomalies == {anomaly: 1}


def test_fragment_beyond_known_end_drops_datagram() -> None:
    decoder = IpDecoder()
    decoder.feed(0.0, 4, ipv4(b"e" * 8, offset=8))  # last fragment: total 16
    assert decoder.feed(0.0, 4, ipv4(b"f" * 16, offset=16, more=True)) is None
    assert decoder.anomalies == {"ipv4-fragment-inconsistent": 1}
    assert decoder.pending_datagrams == 0


def test_ipv6_with_extension_headers() -> None:
    udp = b"\x13\xc4\x13\xc4\x00\x0a\x00\x00hi"
    ah = bytes([17, 1]) + bytes(10)  # AH: (1 + 2) * 4 = 12 bytes
    chain = extension(43, 1) + extension(60) + bytes([51]) + extension(0)[1:]
    data = ipv6(0, chain + ah + udp)
    packet = IpDecoder().feed(1.0, 6, data)
    assert packet == IpPacket(1.0, 6, SRC6, DST6, 17, udp)


def test_ipv6_fragments_reassembled_then_more_headers() -> None:
    inner = extension(17) + b"U" * 40  # a destination-options header inside the fragmentable part
    decoder = IpDecoder()
    late = ipv6(0, extension(44) + fragment6(60, 24, False) + inner[24:])
    early = ipv6(44, fragment6(60, 0, True) + inner[:24])
    assert decoder.feed(1.0, 6, late) is None
    assert decoder.feed(2.0, 6, early) == IpPacket(2.0, 6, SRC6, DST6, 17, b"U" * 40)
    assert not decoder.anomalies


def test_ipv6_atomic_fragment_and_no_next_header() -> None:
    decoder = IpDecoder()
    packet = decoder.feed(0.0, 6, ipv6(44, fragment6(6, 0, False) + b"tcp"))
    assert packet is not None and (packet.proto, packet.payload) == (6, b"tcp")
    assert decoder.feed(0.0, 6, ipv6(59, b"ignored")) is None
    assert not decoder.anomalies


def test_ipv6_padding_trimmed_and_esp_passed_up() -> None:
    packet = IpDecoder().feed(0.0, 6, ipv6(50, b"esp") + b"\0\0")
    assert packet is not None and (packet.proto, packet.payload) == (50, b"esp")


@pytest.mark.parametrize(
    ("data", "anomaly"),
    [
        (ipv6(17, b"x")[:39], "ipv6-truncated"),
        (b"\x40" + ipv6(17, b"x")[1:], "ipv6-bad-version"),
        (ipv6(17, b"abcd")[:-1], "ipv6-truncated"),
        (ipv6(0, b"\x11\x05" + bytes(6)), "ipv6-truncated-extension"),
        (ipv6(43, b"\x11"), "ipv6-truncated-extension"),
        (ipv6(0, extension(0) * 17), "ipv6-too-many-extensions"),
        (ipv6(44, fragment6(17, 0, True) + b"odd"), "ipv6-fragment-bad-length"),
    ],
)
def test_ipv6_malformed(data: bytes, anomaly: str) -> None:
    decoder = IpDecoder()
    assert decoder.feed(0.0, 6, data) is None
    assert decoder.anomalies == {anomaly: 1}


def test_ipv6_eviction_is_counted_per_family() -> None:
    decoder = IpDecoder(max_pending=1)
    decoder.feed(0.0, 6, ipv6(44, fragment6(17, 0, True, ident=1) + bytes(8)))
    decoder.feed(0.0, 6, ipv6(44, fragment6(17, 0, True, ident=2) + bytes(8)))
    assert decoder.anomalies == {"ipv6-fragment-evicted": 1}


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=64), st.integers(1, 8), st.randoms(use_true_random=False))
def test_fuzz_fragment_order_never_matters(payload: bytes, units: int, rng: random.Random) -> None:
    pieces = fragments4(payload, units * 8)
    pieces += rng.sample(pieces, k=min(2, len(pieces)))  # duplicates
    rng.shuffle(pieces)
    decoder = IpDecoder()
    results = [packet for data in pieces if (packet := decoder.feed(0.0, 4, data)) is not None]
    assert results[0].payload == payload
    assert not decoder.anomalies


VALID = [
    ipv4(b"hello"),
    *fragments4(bytes(40), 16),
    ipv6(0, extension(44) + fragment6(17, 0, True) + bytes(8)),
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.sampled_from([4, 6]), st.binary(max_size=90)),
            st.tuples(
                st.sampled_from([4, 6]),
                st.builds(
                    lambda data, position, value: (
                        data[: position % len(data)] + bytes([value]) + data[position % len(data) + 1 :]
                    ),
                    st.sampled_from(VALID),
                    st.integers(0, 200),
                    st.integers(0, 255),
                ),
            ),
        ),
        max_size=12,
    )
)
def test_fuzz_never_raises(inputs: list[tuple[int, bytes]]) -> None:
    decoder = IpDecoder(max_pending=4, max_pending_bytes=200)
    for index, (version, data) in enumerate(inputs):
        packet = decoder.feed(float(index), version, data)
        assert packet is None or isinstance(packet.payload, bytes)
    assert decoder.pending_datagrams <= 4
