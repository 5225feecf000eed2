from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.core.records import Frame
from phonewarden.wire.pcap import CaptureFileDecoder, is_gzip

DATA = Path(__file__).resolve().parent.parent / "data" / "wire"
CAPTURES = sorted(DATA.glob("*.pcap*"))


def pcap(
    records: list[tuple[int, int, bytes]], *, order: str = "<", nano: bool = False, linktype: int = 1
) -> bytes:
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)]
    for seconds, fraction, data in records:
        out.append(struct.pack(order + "IIII", seconds, fraction, len(data), len(data) + 4) + data)
    return b"".join(out)


def block(block_type: int, body: bytes, order: str = "<") -> bytes:
    body += bytes(-len(body) % 4)
    length = 12 + len(body)
    return struct.pack(order + "II", block_type, length) + body + struct.pack(order + "I", length)


def shb(order: str = "<") -> bytes:
    return block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1), order)


def option(code: int, value: bytes, order: str = "<") -> bytes:
    return struct.pack(order + "HH", code, len(value)) + value + bytes(-len(value) % 4)


def idb(linktype: int = 1, snaplen: int = 0, options: bytes = b"", order: str = "<") -> bytes:
    end = option(0, b"", order) if options else b""
    return block(1, struct.pack(order + "HHI", linktype, 0, snaplen) + options + end, order)


def epb(interface: int, timestamp: int, data: bytes, order: str = "<", wire_len: int | None = None) -> bytes:
    head = struct.pack(
        order + "IIIII", interface, timestamp >> 32, timestamp & 0xFFFFFFFF, len(data), wire_len or len(data)
    )
    return block(6, head + data, order)


def decode(data: bytes) -> tuple[CaptureFileDecoder, list[Frame]]:
    decoder = CaptureFileDecoder()
    frames = decoder.feed(data)
    decoder.close()
    return decoder, frames


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize(
    ("nano", "fraction", "expected"), [(False, 250_000, 0.25), (True, 250_000_000, 0.25)]
)
def test_classic_pcap_byte_orders_and_resolutions(
    order: str, nano: bool, fraction: int, expected: float
) -> None:
    decoder, frames = decode(
        pcap([(1000, fraction, b"abc"), (1001, 0, b"")], order=order, nano=nano, linktype=113)
    )
    assert decoder.format == "pcap"
    assert [(f.time, f.linktype, f.data, f.wire_len) for f in frames] == [
        (1000 + expected, 113, b"abc", 7),
        (1001.0, 113, b"", 4),
    ]
    assert not decoder.anomalies


def test_link_type_ignores_fcs_bits() -> None:
    _, frames = decode(pcap([(1, 0, b"x")], linktype=0x1000_0000 | 101))
    assert frames[0].linktype == 101


def test_truncated_trailing_record_is_counted_on_close() -> None:
    data = pcap([(1, 0, b"complete"), (2, 0, b"cut short")])[:-3]
    decoder, frames = decode(data)
    assert [f.data for f in frames] == [b"complete"]
    assert decoder.anomalies["pcap-truncated-record"] == 1


def test_unknown_magic_stops_decoding() -> None:
    decoder = CaptureFileDecoder()
    assert decoder.feed(b"GIF89a" + bytes(100)) == []
    assert decoder.anomalies["not-a-capture"] == 1
    assert decoder.feed(pcap([(1, 0, b"x")])) == []
    assert decoder.format is None


def test_absurd_record_length_stops_instead_of_buffering() -> None:
    data = pcap([(1, 0, b"ok")]) + struct.pack("<IIII", 2, 0, 0x7FFFFFFF, 10) + bytes(64)
    decoder, frames = decode(data)
    assert [f.data for f in frames] == [b"ok"]
    assert decoder.anomalies == {"pcap-record-too-large": 1}


def test_empty_input_and_short_header() -> None:
    decoder, frames = decode(pcap([])[:10])
    assert (decoder.format, frames) == (None, [])
    assert decoder.anomalies["capture-truncated-header"] == 1


def test_is_gzip() -> None:
    assert is_gzip(b"\x1f\x8b\x08\x00")
    assert not is_gzip(pcap([]))
    assert not is_gzip(b"\x1f")


@pytest.mark.parametrize("order", ["<", ">"])
def test_pcapng_blocks(order: str) -> None:
    nrb = block(4, struct.pack(order + "HH", 0, 0), order)
    isb = block(5, bytes(12), order)
    custom = block(0xBAD, bytes(8), order)
    dsb = block(0x0A, bytes(8), order)
    unknown = block(0x7777, bytes(4), order)
    nanos = option(9, b"\x09", order)
    binary = option(9, bytes([0x80 | 20]), order) + option(14, struct.pack(order + "q", 100), order)
    spb = block(3, struct.pack(order + "I", 10) + b"0123456789", order)
    old_packet = block(2, struct.pack(order + "HHIIII", 1, 0, 0, 3 << 20, 2, 2) + b"pb", order)
    data = b"".join(
        [
            shb(order),
            idb(1, snaplen=4, options=nanos, order=order),
            idb(228, options=binary, order=order),
            nrb,
            epb(0, 1_500_000_000_250_000_000, b"first", order),
            spb,
            isb,
            custom,
            dsb,
            unknown,
            old_packet,
            epb(1, 5 << 19, b"second", order, wire_len=99),
        ]
    )
    decoder, frames = decode(data)
    assert decoder.format == "pcapng"
    assert [(f.time, f.linktype, f.data, f.wire_len, f.interface) for f in frames] == [
        (1_500_000_000.25, 1, b"first", 5, 0),
        (1_500_000_000.25, 1, b"0123", 10, 0),  # snaplen 4 applies; SPB has no time of its own
        (103.0, 228, b"pb", 2, 1),  # 2^-20 s units, +100 s offset
        (102.5, 228, b"second", 99, 1),
    ]
    assert decoder.anomalies == {"pcapng-unknown-block": 1}


def test_pcapng_sections_reset_interfaces_and_byte_order() -> None:
    data = (
        shb("<")
        + idb(1)
        + idb(113)
        + shb(">")
        + idb(101, order=">")
        + epb(1, 0, b"x", ">")
        + epb(0, 0, b"y", ">")
    )
    decoder, frames = decode(data)
    assert [(f.linktype, f.data) for f in frames] == [(101, b"y")]
    assert decoder.anomalies == {"pcapng-unknown-interface": 1}


def test_pcapng_bad_lengths() -> None:
    bad_caplen = block(6, struct.pack("<IIIII", 0, 0, 0, 500, 500) + b"tiny")
    decoder, frames = decode(shb() + idb() + bad_caplen + epb(0, 0, b"ok"))
    assert [f.data for f in frames] == [b"ok"]
    assert decoder.anomalies == {"pcapng-bad-captured-length": 1}
    decoder, frames = decode(shb() + idb() + struct.pack("<II", 6, 13) + bytes(20) + epb(0, 0, b"lost"))
    assert frames == []
    assert decoder.anomalies == {"pcapng-bad-block-length": 1}


def test_pcapng_truncated_block_counted_on_close() -> None:
    decoder, frames = decode(shb() + idb() + epb(0, 0, b"whole") + epb(0, 0, b"partial")[:-5])
    assert [f.data for f in frames] == [b"whole"]
    assert decoder.anomalies == {"pcapng-truncated-record": 1}


def _chunked(data: bytes, cuts: list[int]) -> tuple[list[Frame], dict[str, int]]:
    decoder = CaptureFileDecoder()
    frames: list[Frame] = []
    previous = 0
    for cut in [*sorted(cuts), len(data)]:
        frames += decoder.feed(data[previous:cut])
        previous = max(previous, cut)
    decoder.close()
    return frames, dict(decoder.anomalies)


SAMPLES = [
    pcap([(1, 2, b"a" * 30), (3, 4, b""), (5, 6, b"b" * 7)], order=">"),
    shb()
    + idb(options=option(9, b"\x03"))
    + epb(0, 1234, b"c" * 9)
    + block(3, b"\x05\0\0\0hello")
    + shb(">"),
]


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_two_way_split_gives_the_same_result(sample: bytes) -> None:
    whole = _chunked(sample, [])
    assert len(whole[0]) >= 2
    for cut in range(len(sample) + 1):
        assert _chunked(sample, [cut]) == whole


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SAMPLES), st.lists(st.integers(0, 200), max_size=6))
def test_fuzz_any_chunking_gives_the_same_result(sample: bytes, cuts: list[int]) -> None:
    assert _chunked(sample, cuts) == _chunked(sample, [])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=4))
def test_fuzz_random_bytes_never_raise(data: bytes, cuts: list[int]) -> None:
    for prefix in (b"", b"\xd4\xc3\xb2\xa1", b"\x0a\x0d\x0d\x0a"):
        _chunked(prefix + data, cuts)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SAMPLES), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8))
def test_fuzz_mutated_captures_never_raise(sample: bytes, mutations: list[tuple[int, int]]) -> None:
    data = bytearray(sample)
    for position, value in mutations:
        data[position % len(data)] = value
    frames, _ = _chunked(bytes(data), [len(data) // 2])
    assert all(isinstance(frame.data, bytes) for frame in frames)


def _tshark(path: Path, *fields: str) -> list[list[str]]:
    if shutil.which("tshark") is None:
        pytest.fail("tshark is required for peer tests (CI installs it)")
    args = ["tshark", "-r", str(path), "-T", "fields"] + [arg for field in fields for arg in ("-e", field)]
    output = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in output.splitlines()]


@pytest.mark.peer
@pytest.mark.parametrize("path", CAPTURES, ids=lambda path: path.name)
def test_frames_match_tshark(path: Path) -> None:
    expected = _tshark(path, "frame.time_epoch", "frame.cap_len", "frame.len")
    decoder, frames = decode(path.read_bytes())
    assert not decoder.anomalies
    assert len(frames) == len(expected) > 0
    for frame, (time, cap_len, wire_len) in zip(frames, expected, strict=True):
        assert frame.time == pytest.approx(float(time), abs=1e-6)
        assert (len(frame.data), frame.wire_len) == (int(cap_len), int(wire_len))
