"""The engine's own in-order TCP path and its hand-over to the kernel's reassembler on a gap."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.privacy.engine import PrivacyEngine
from phonewarden.privacy.inventory import parse_inventory
from tests.privacy.frames import ACK, PSH, SYN, connection, tcp_frame

IMEI = "352099001761481"
DEVICES = parse_inventory([{"name": "p", "ip": "198.51.100.7", "imei": IMEI}], "t")
BODY = b'{"IMEI1":"' + IMEI.encode() + b'","note":"hello"}'
REQUEST = (b"POST /act HTTP/1.1\r\nHost: zzhc.vnet.cn\r\nContent-Length: %d\r\n\r\n" % len(BODY)) + BODY


def _leaks(frames: list) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    engine = PrivacyEngine(DEVICES)
    engine.feed_all(frames)
    return {(leak.identifier, leak.encoding) for leak in engine.leaks.values()}


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = [0, *sorted(set(cuts)), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


def test_whole_request_in_one_segment_names_host_and_counts_payload_only() -> None:
    engine = PrivacyEngine(DEVICES)
    engine.feed_all(connection("198.51.100.7", "202.97.1.10", 80, [REQUEST]))
    [dest] = engine.destinations.values()
    assert (dest.host, dest.protocol, dest.country) == ("zzhc.vnet.cn", "http", "CN")
    assert (dest.bytes_out, dest.packets_out) == (len(REQUEST), 1)
    assert dest.bytes_in == len(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert ("imei", "plain") in {(leak.identifier, leak.encoding) for leak in engine.leaks.values()}


@pytest.mark.parametrize("order", [[0, 1, 2], [1, 0, 2], [2, 1, 0], [0, 2, 1]])
def test_identifier_split_across_reordered_segments_is_found(order: list[int]) -> None:
    cut = REQUEST.index(IMEI.encode()) + 7  # the IMEI straddles pieces 1 and 2
    pieces = _split(REQUEST, [40, cut])
    assert _leaks(connection("198.51.100.7", "202.97.1.10", 80, pieces, order)) >= {("imei", "plain")}


def test_retransmission_is_counted_once() -> None:
    frames = connection("198.51.100.7", "202.97.1.10", 80, [REQUEST[:50], REQUEST[50:]])
    frames.insert(4, frames[2])  # the first piece again, after its ACK
    engine = PrivacyEngine(DEVICES)
    engine.feed_all(frames)
    [dest] = engine.destinations.values()
    assert dest.bytes_out == len(REQUEST)
    assert dest.host == "zzhc.vnet.cn"


def test_reused_port_after_tls_is_scanned_again() -> None:
    hello = b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00"  # looks like TLS: that direction is only counted
    first = connection("198.51.100.7", "202.97.1.10", 80, [hello])
    second = connection("198.51.100.7", "202.97.1.10", 80, [REQUEST], isn=90000)
    assert ("imei", "plain") in _leaks(first + second)


def test_mid_stream_pickup_without_syn() -> None:
    frames = [tcp_frame(1.0, "198.51.100.7", 40000, "202.97.1.10", 80, 777, ACK | PSH, REQUEST)]
    assert ("imei", "plain") in _leaks(frames)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, len(REQUEST) - 1), max_size=4), st.randoms(use_true_random=False),
       st.booleans())  # fmt: skip
def test_any_split_and_order_finds_the_leak(cuts: list[int], rng: object, syn: bool) -> None:
    pieces = _split(REQUEST, cuts)
    order = list(range(len(pieces)))
    rng.shuffle(order)  # type: ignore[attr-defined]
    frames = connection("198.51.100.7", "202.97.1.10", 80, pieces, order)
    if not syn:
        frames = [f for f in frames if not f.data[47] & SYN]
        if order[0] != 0:
            return  # mid-stream pickup starts at the first segment seen: earlier bytes are not recoverable
    assert ("imei", "plain") in _leaks(frames)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFF),
                          st.binary(max_size=60), st.integers(-60, 60)), max_size=12))  # fmt: skip
def test_odd_tcp_frames_never_raise(frames: list[tuple[bool, int, int, bytes, int]]) -> None:
    engine = PrivacyEngine(DEVICES)
    for index, (sent, seq, flags, payload, length_error) in enumerate(frames):
        src, dst = ("198.51.100.7", "202.97.1.10") if sent else ("202.97.1.10", "198.51.100.7")
        frame = tcp_frame(
            float(index), src, 40000 if sent else 80, dst, 80 if sent else 40000, seq, flags, payload
        )
        data = bytearray(frame.data)  # an IP total length that lies about the frame
        total = max(0, min(0xFFFF, (data[16] << 8 | data[17]) + length_error))
        data[16:18] = total.to_bytes(2, "big")
        engine.feed(type(frame)(frame.time, 1, bytes(data), len(data)))
    assert all(d.bytes_out >= 0 for d in engine.destinations.values())
