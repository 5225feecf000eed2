from __future__ import annotations

import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.wire.tcp import TcpReassembler

A, B = "198.51.100.1", "203.0.113.2"
FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10


def tcp(seq: int, payload: bytes = b"", flags: int = ACK, sport: int = 5060, dport: int = 5061) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, 0, 5 << 4, flags, 65535, 0, 0) + payload


def stream(reassembler: TcpReassembler, segments: list[bytes], src: str = A, dst: str = B) -> bytes:
    return b"".join(
        segment.payload
        for index, data in enumerate(segments)
        for segment in reassembler.feed(float(index), src, dst, data)
    )


def test_in_order_after_syn() -> None:
    reassembler = TcpReassembler()
    assert reassembler.feed(0.0, A, B, tcp(1000, flags=SYN)) == []
    segments = reassembler.feed(1.0, A, B, tcp(1001, b"INVITE"))
    assert [(s.time, s.transport, s.src, s.sport, s.dst, s.dport, s.payload) for s in segments] == [
        (1.0, "tcp", A, 5060, B, 5061, b"INVITE")
    ]


def test_data_on_syn_is_delivered() -> None:
    assert stream(TcpReassembler(), [tcp(5, b"fast", SYN), tcp(10, b"open")]) == b"fastopen"


def test_out_of_order_is_buffered_until_the_gap_fills() -> None:
    reassembler = TcpReassembler()
    assert reassembler.feed(0.0, A, B, tcp(0, flags=SYN)) == []
    assert reassembler.feed(1.0, A, B, tcp(4, b"def")) == []
    assert reassembler.feed(2.0, A, B, tcp(7, b"ghi")) == []
    segments = reassembler.feed(3.0, A, B, tcp(1, b"abc"))
    assert [s.payload for s in segments] == [b"abcdefghi"]


def test_retransmission_and_overlap_deliver_each_byte_once() -> None:
    segments = [
        tcp(100, flags=SYN),
        tcp(101, b"hello"),
        tcp(101, b"hello"),
        tcp(103, b"llo wor"),
        tcp(110, b"ld"),
    ]
    assert stream(TcpReassembler(), segments) == b"hello world"


def test_mid_stream_pickup_starts_at_first_seen_sequence() -> None:
    reassembler = TcpReassembler()
    assert reassembler.feed(0.0, A, B, tcp(500, flags=ACK)) == []  # pure ACKs create no state
    assert reassembler.flow_count == 0
    assert (
        stream(reassembler, [tcp(9000, b"middle"), tcp(9006, b" end"), tcp(8990, b"too old")])
        == b"middle end"
    )


def test_sequence_wraparound() -> None:
    isn = 0xFFFFFFF0
    segments = [tcp(isn, flags=SYN), tcp(isn + 11, b"0123456789"), tcp(isn + 1, b"abcdefghij")]
    assert stream(TcpReassembler(), segments) == b"abcdefghij0123456789"


def test_buffer_overflow_skips_the_gap() -> None:
    reassembler = TcpReassembler(max_buffered_bytes_per_flow=10)
    assert reassembler.feed(0.0, A, B, tcp(0, b"start")) != []
    assert reassembler.feed(1.0, A, B, tcp(100, b"later-")) == []
    segments = reassembler.feed(2.0, A, B, tcp(106, b"bytes"))
    assert [s.payload for s in segments] == [b"later-bytes"]
    assert reassembler.anomalies == {"tcp-gap-skipped": 1}
    assert stream(reassembler, [tcp(5, b"lost"), tcp(111, b"!")]) == b"!"


def test_fin_closes_after_all_bytes_and_tombstone_ignores_retransmissions() -> None:
    reassembler = TcpReassembler()
    reassembler.feed(0.0, A, B, tcp(0, flags=SYN))
    assert reassembler.feed(1.0, A, B, tcp(4, b"end", FIN | ACK)) == []  # bytes 1..3 still missing
    assert reassembler.pop_closed() == []
    assert [s.payload for s in reassembler.feed(2.0, A, B, tcp(1, b"the"))] == [b"theend"]
    assert reassembler.has_closed
    assert reassembler.pop_closed() == [(A, 5060, B, 5061)]
    assert not reassembler.has_closed
    assert reassembler.pop_closed() == []
    assert reassembler.feed(3.0, A, B, tcp(1, b"the")) == []


def test_new_syn_after_close_starts_a_new_stream() -> None:
    reassembler = TcpReassembler()
    first = stream(reassembler, [tcp(0, flags=SYN), tcp(1, b"one", FIN | ACK)])
    second = stream(reassembler, [tcp(0, flags=SYN), tcp(1, b"two")])
    assert (first, second) == (b"one", b"two")


def test_rst_closes_both_directions() -> None:
    reassembler = TcpReassembler()
    reassembler.feed(0.0, A, B, tcp(0, b"ping"))
    reassembler.feed(0.0, B, A, tcp(0, b"pong", sport=5061, dport=5060))
    reassembler.feed(1.0, B, A, tcp(4, flags=RST, sport=5061, dport=5060))
    assert sorted(reassembler.pop_closed()) == [(A, 5060, B, 5061), (B, 5061, A, 5060)]


def test_idle_flows_expire_by_event_time() -> None:
    reassembler = TcpReassembler(idle_timeout=10.0)
    reassembler.feed(0.0, A, B, tcp(0, b"old"))
    reassembler.feed(5.0, A, B, tcp(0, b"new", sport=1))
    reassembler.feed(10.5, A, B, tcp(0, b"x", sport=2))
    assert reassembler.pop_closed() == [(A, 5060, B, 5061)]
    assert reassembler.flow_count == 2
    assert not reassembler.anomalies


def test_flow_table_is_bounded_least_recently_active_evicted() -> None:
    reassembler = TcpReassembler(max_flows=2)
    reassembler.feed(0.0, A, B, tcp(0, b"a", sport=1))
    reassembler.feed(0.1, A, B, tcp(0, b"b", sport=2))
    reassembler.feed(0.2, A, B, tcp(1, b"a", sport=1))  # flow 1 is now the most recent
    reassembler.feed(0.3, A, B, tcp(0, b"c", sport=3))
    assert reassembler.pop_closed() == [(A, 2, B, 5061)]
    assert reassembler.anomalies == {"tcp-flow-evicted": 1}
    assert reassembler.flow_count == 2


@pytest.mark.parametrize(
    ("data", "anomaly"),
    [
        (tcp(0)[:19], "tcp-truncated"),
        (tcp(0)[:12] + bytes([4 << 4]) + tcp(0)[13:], "tcp-bad-header-length"),
        (tcp(0)[:12] + bytes([8 << 4]) + tcp(0)[13:], "tcp-truncated"),
    ],
)
def test_malformed_headers(data: bytes, anomaly: str) -> None:
    reassembler = TcpReassembler()
    assert reassembler.feed(0.0, A, B, data) == []
    assert reassembler.anomalies == {anomaly: 1}


def test_header_options_are_skipped() -> None:
    header = bytearray(tcp(0, flags=SYN))
    header[12] = 6 << 4
    assert (
        TcpReassembler().feed(0.0, A, B, bytes(header) + b"\x02\x04\x05\xb4" + b"data")[0].payload == b"data"
    )


@settings(max_examples=300, deadline=None)
@given(
    st.binary(min_size=1, max_size=300),
    st.integers(0, 0xFFFFFFFF),
    st.lists(st.integers(1, 40), min_size=1, max_size=20),
    st.randoms(use_true_random=False),
)
def test_fuzz_any_order_and_duplication_gives_the_original_stream(
    payload: bytes, isn: int, cuts: list[int], rng: random.Random
) -> None:
    segments, position = [], 0
    for size in cuts * 10:
        if position >= len(payload):
            break
        segments.append(tcp(isn + 1 + position, payload[position : position + size]))
        position += size
    if position < len(payload):
        segments.append(tcp(isn + 1 + position, payload[position:]))
    segments += rng.sample(segments, k=min(3, len(segments)))
    rng.shuffle(segments)
    reassembler = TcpReassembler()
    assert stream(reassembler, [tcp(isn, flags=SYN), *segments]) == payload
    assert not reassembler.anomalies


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=60),
            st.builds(
                tcp,
                st.integers(0, 0xFFFFFFFF),
                st.binary(max_size=20),
                st.integers(0, 255),
                st.integers(1, 6),
            ),
        ),
        max_size=20,
    )
)
def test_fuzz_never_raises_and_stays_bounded(inputs: list[bytes]) -> None:
    reassembler = TcpReassembler(max_flows=3, max_buffered_bytes_per_flow=32, idle_timeout=5.0)
    for index, data in enumerate(inputs):
        for segment in reassembler.feed(float(index), A, B, data):
            assert segment.payload
    assert reassembler.flow_count <= 3
