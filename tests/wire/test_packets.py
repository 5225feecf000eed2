from __future__ import annotations

import shutil
import socket
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.core.records import Frame, Segment
from phonewarden.wire.packets import PacketDecoder
from phonewarden.wire.pcap import CaptureFileDecoder

DATA = Path(__file__).resolve().parent.parent / "data" / "wire"
CAPTURES = sorted(DATA.glob("*.pcap*"))
MACS = bytes(range(12))
SRC, DST = "192.0.2.10", "192.0.2.20"


def udp(sport: int, dport: int, payload: bytes, length: int | None = None) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload) if length is None else length, 0) + payload


def ipv4(proto: int, payload: bytes, *, flags_offset: int = 0, ident: int = 9) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, flags_offset, 64, proto, 0,
        socket.inet_aton(SRC), socket.inet_aton(DST),
    )  # fmt: skip
    return header + payload


def ipv6(next_header: int, payload: bytes) -> bytes:
    addresses = socket.inet_pton(socket.AF_INET6, "::1") * 2
    return struct.pack("!IHBB", 0x60000000, len(payload), next_header, 64) + addresses + payload


def ethernet(payload: bytes, ethertype: int = 0x0800, vlan: bool = False) -> bytes:
    tag = struct.pack("!HH", 0x8100, 42) if vlan else b""
    return MACS + tag + struct.pack("!H", ethertype) + payload


def frame(data: bytes, linktype: int = 1, time: float = 1.5) -> Frame:
    return Frame(time, linktype, data, len(data))


def test_fast_path_ethernet_ipv4_udp_with_padding() -> None:
    decoder = PacketDecoder()
    segments = decoder.feed(frame(ethernet(ipv4(17, udp(5060, 5080, b"OPTIONS"))) + bytes(10)))
    assert segments == [Segment(1.5, "udp", SRC, 5060, DST, 5080, b"OPTIONS")]
    assert not decoder.anomalies


@pytest.mark.parametrize(
    "data",
    [
        ethernet(ipv4(17, udp(5060, 5080, b"OPTIONS")), vlan=True),
        ethernet(ipv6(17, udp(5060, 5080, b"OPTIONS")), 0x86DD),
    ],
)
def test_general_path_gives_the_same_kind_of_segment(data: bytes) -> None:
    [segment] = PacketDecoder().feed(frame(data))
    assert (segment.transport, segment.sport, segment.dport, segment.payload) == (
        "udp",
        5060,
        5080,
        b"OPTIONS",
    )


def test_fast_path_and_general_path_agree() -> None:
    datagram = ipv4(17, udp(1, 2, b"same"))
    fast = PacketDecoder().feed(frame(ethernet(datagram)))
    general = PacketDecoder().feed(frame(datagram, linktype=101))
    assert fast == general != []


def test_fragmented_udp_is_reassembled() -> None:
    body = udp(5060, 5060, b"R" * 40)
    first = ethernet(ipv4(17, body[:24], flags_offset=0x2000))
    last = ethernet(ipv4(17, body[24:], flags_offset=3))
    decoder = PacketDecoder()
    assert decoder.feed(frame(last)) == []
    assert [s.payload for s in decoder.feed(frame(first))] == [b"R" * 40]


@pytest.mark.parametrize(
    ("datagram", "anomaly"),
    [
        (b"\x13\xc4\x13", "udp-truncated"),
        (udp(1, 2, b"abc", length=4), "udp-bad-length"),
        (udp(1, 2, b"abc", length=20), "udp-truncated"),
    ],
)
def test_udp_length_checks(datagram: bytes, anomaly: str) -> None:
    decoder = PacketDecoder()
    assert decoder.feed(frame(ethernet(ipv4(17, datagram)))) == []
    assert decoder.anomalies == {anomaly: 1}


def test_udp_length_shorter_than_datagram_trims() -> None:
    [segment] = PacketDecoder().feed(frame(ethernet(ipv4(17, udp(1, 2, b"abcdef", length=11)))))
    assert segment.payload == b"abc"


def test_tcp_goes_through_reassembly_and_closed_flows_pass_through() -> None:
    def tcp(seq: int, flags: int, payload: bytes = b"") -> Frame:
        header = struct.pack("!HHIIBBHHH", 40000, 5060, seq, 0, 5 << 4, flags, 65535, 0, 0)
        return frame(ethernet(ipv4(6, header + payload)))

    decoder = PacketDecoder()
    assert decoder.feed(tcp(10, 0x02)) == []
    assert decoder.feed(tcp(15, 0x18, b"world")) == []
    [segment] = decoder.feed(tcp(11, 0x18, b"hell"))
    assert (segment.transport, segment.payload) == ("tcp", b"hellworld")
    assert decoder.feed(tcp(20, 0x11)) == []
    assert decoder.pop_closed() == [(SRC, 40000, DST, 5060)]


def test_anomalies_merge_every_layer() -> None:
    decoder = PacketDecoder()
    decoder.feed(frame(MACS + b"\x08"))  # link
    decoder.feed(frame(ethernet(b"\x45" + bytes(10))))  # ip
    decoder.feed(frame(ethernet(ipv4(17, b"\x00"))))  # udp
    decoder.feed(frame(ethernet(ipv4(6, bytes(10)))))  # tcp
    assert decoder.anomalies == {
        "link-truncated": 1,
        "ipv4-truncated": 1,
        "udp-truncated": 1,
        "tcp-truncated": 1,
    }


def test_other_protocols_and_non_ip_are_ignored_silently() -> None:
    decoder = PacketDecoder()
    assert decoder.feed(frame(ethernet(ipv4(1, b"\x08\x00" + bytes(6))))) == []  # ICMP
    assert decoder.feed(frame(ethernet(bytes(28), 0x0806))) == []  # ARP
    assert not decoder.anomalies


VALID = [
    ethernet(ipv4(17, udp(5060, 5060, b"SIP/2.0 200 OK"))),
    ethernet(ipv4(6, struct.pack("!HHIIBBHHH", 1, 2, 3, 0, 5 << 4, 0x18, 0, 0, 0) + b"data"), vlan=True),
    ethernet(ipv6(17, udp(1, 2, b"six")), 0x86DD),
    ethernet(ipv4(17, udp(1, 2, bytes(16))[:16], flags_offset=0x2000)),
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.sampled_from([0, 1, 101, 113, 276]), st.binary(max_size=80)),
            st.tuples(
                st.just(1),
                st.builds(
                    lambda data, position, value: (
                        data[: position % len(data)] + bytes([value]) + data[position % len(data) + 1 :]
                    ),
                    st.sampled_from(VALID),
                    st.integers(0, 100),
                    st.integers(0, 255),
                ),
            ),
        ),
        max_size=10,
    )
)
def test_fuzz_never_raises(inputs: list[tuple[int, bytes]]) -> None:
    decoder = PacketDecoder()
    for index, (linktype, data) in enumerate(inputs):
        for segment in decoder.feed(frame(data, linktype, float(index))):
            assert segment.transport in ("udp", "tcp")
    assert all(count > 0 for count in decoder.anomalies.values())


def _tshark(path: Path, *args: str) -> str:
    if shutil.which("tshark") is None:
        pytest.fail("tshark is required for peer tests (CI installs it)")
    return subprocess.run(
        ["tshark", "-r", str(path), *args], capture_output=True, text=True, check=True
    ).stdout


def _segments(path: Path) -> list[Segment]:
    capture = CaptureFileDecoder()
    decoder = PacketDecoder()
    segments = [segment for frame in capture.feed(path.read_bytes()) for segment in decoder.feed(frame)]
    assert not capture.anomalies and not decoder.anomalies
    return segments


@pytest.mark.peer
@pytest.mark.parametrize("path", CAPTURES, ids=lambda path: path.name)
def test_udp_matches_tshark(path: Path) -> None:
    fields = ["frame.time_epoch", "ip.src", "ipv6.src", "udp.srcport", "udp.length"]
    # ICMP errors quote a UDP header; tshark shows it, but it is not a datagram of ours.
    output = _tshark(
        path, "-Y", "udp.length && !icmp && !icmpv6", "-T", "fields", *[a for f in fields for a in ("-e", f)]
    )
    expected = [line.split("\t") for line in output.splitlines()]
    udp = [segment for segment in _segments(path) if segment.transport == "udp"]
    assert len(udp) == len(expected) > 0
    for segment, (time, src4, src6, sport, length) in zip(udp, expected, strict=True):
        assert segment.time == pytest.approx(float(time), abs=1e-6)
        assert (segment.src, segment.sport, len(segment.payload) + 8) == (
            src4 or src6,
            int(sport),
            int(length),
        )


@pytest.mark.peer
@pytest.mark.parametrize(
    "path", [p for p in CAPTURES if p.name != "fragments.pcap"], ids=lambda path: path.name
)
def test_tcp_stream_matches_tshark_follow(path: Path) -> None:
    output = _tshark(path, "-q", "-z", "follow,tcp,raw,0")
    body = output.split("Node 1:")[1].split("=" * 20)[0].splitlines()[1:]
    client = b"".join(bytes.fromhex(line) for line in body if line and not line.startswith("\t"))
    server = b"".join(bytes.fromhex(line.strip()) for line in body if line.startswith("\t"))
    segments = [s for s in _segments(path) if s.transport == "tcp"]
    first = segments[0]
    ours_client = b"".join(s.payload for s in segments if (s.src, s.sport) == (first.src, first.sport))
    ours_server = b"".join(s.payload for s in segments if (s.dst, s.dport) == (first.src, first.sport))
    if path.name == "two-sections.pcapng":  # the same connection twice; tshark's stream 0 is the first
        ours_client, ours_server = ours_client[: len(client)], ours_server[: len(server)]
    assert (ours_client, ours_server) == (client, server)
    assert len(client) > 0 and len(server) > 0
