from __future__ import annotations

import struct
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.wire.link import MAX_VLAN_DEPTH, LinkDecoder, link_payload

IPV4 = bytes([0x45]) + bytes(19)
IPV6 = bytes([0x60]) + bytes(39)
MACS = bytes(range(12))


def ethernet(ethertype: int, payload: bytes, tags: tuple[int, ...] = ()) -> bytes:
    if tags:  # the first TPID takes the EtherType position; each tag's own type field names the next
        types = [*tags[1:], ethertype]
        tag_bytes = b"".join(struct.pack("!HH", 100 + i, t) for i, t in enumerate(types))
        return MACS + struct.pack("!H", tags[0]) + tag_bytes + payload
    return MACS + struct.pack("!H", ethertype) + payload


def sll(protocol: int, payload: bytes) -> bytes:
    return struct.pack("!HHH8sH", 0, 1, 6, b"\x02" * 8, protocol) + payload


def sll2(protocol: int, payload: bytes) -> bytes:
    return struct.pack("!HHIHBB8s", protocol, 0, 3, 1, 0, 6, b"\x02" * 8) + payload


@pytest.mark.parametrize(
    ("linktype", "frame", "expected"),
    [
        (1, ethernet(0x0800, IPV4), (4, IPV4)),
        (1, ethernet(0x86DD, IPV6), (6, IPV6)),
        (1, ethernet(0x0800, IPV4, (0x8100,)), (4, IPV4)),
        (1, ethernet(0x86DD, IPV6, (0x88A8, 0x8100)), (6, IPV6)),
        (1, ethernet(0x0800, IPV4, (0x9100, 0x9100, 0x8100)), (4, IPV4)),
        (113, sll(0x0800, IPV4), (4, IPV4)),
        (113, sll(0x86DD, IPV6), (6, IPV6)),
        (276, sll2(0x0800, IPV4), (4, IPV4)),
        (276, sll2(0x86DD, IPV6), (6, IPV6)),
        (276, sll2(0x8100, struct.pack("!HH", 7, 0x86DD) + IPV6), (6, IPV6)),
        (101, IPV4, (4, IPV4)),
        (101, IPV6, (6, IPV6)),
        (12, IPV4, (4, IPV4)),
        (14, IPV6, (6, IPV6)),
        (228, IPV4, (4, IPV4)),
        (229, IPV6, (6, IPV6)),
        (0, struct.pack("<I", 2) + IPV4, (4, IPV4)),
        (0, struct.pack(">I", 2) + IPV4, (4, IPV4)),
        (0, struct.pack("<I", 24) + IPV6, (6, IPV6)),
        (0, struct.pack("<I", 28) + IPV6, (6, IPV6)),
        (108, struct.pack(">I", 30) + IPV6, (6, IPV6)),
        (108, struct.pack("<I", 2) + IPV4, (4, IPV4)),
    ],
)
def test_ip_payload_for_each_link_type(linktype: int, frame: bytes, expected: tuple[int, bytes]) -> None:
    decoder = LinkDecoder()
    assert decoder.decode(linktype, frame) == expected
    assert not decoder.anomalies


@pytest.mark.parametrize(
    ("linktype", "frame"),
    [
        (1, ethernet(0x0806, bytes(28))),  # ARP
        (1, MACS + struct.pack("!H", 60) + bytes(60)),  # 802.3 length field with LLC
        (1, ethernet(0x0806, bytes(28), (0x8100,))),
        (113, sll(0x0806, bytes(28))),
        (276, sll2(0x0004, bytes(10))),
        (0, struct.pack("<I", 7) + IPV4),  # some other address family
    ],
)
def test_non_ip_is_none_without_anomaly(linktype: int, frame: bytes) -> None:
    decoder = LinkDecoder()
    assert decoder.decode(linktype, frame) is None
    assert not decoder.anomalies


@pytest.mark.parametrize(
    ("linktype", "frame", "anomaly"),
    [
        (1, MACS, "link-truncated"),
        (1, MACS + b"\x81\x00\x00", "link-truncated"),
        (113, bytes(15), "link-truncated"),
        (276, bytes(19), "link-truncated"),
        (0, b"\x02\x00", "link-truncated"),
        (101, b"", "link-truncated"),
        (101, b"\x55" + bytes(19), "link-raw-bad-version"),
        (147, IPV4, "link-unsupported-linktype"),
        (1, ethernet(0x0800, IPV4, (0x8100,) * (MAX_VLAN_DEPTH + 1)), "link-vlan-too-deep"),
    ],
)
def test_malformed_frames_are_counted(linktype: int, frame: bytes, anomaly: str) -> None:
    decoder = LinkDecoder()
    assert decoder.decode(linktype, frame) is None
    assert decoder.anomalies == {anomaly: 1}


def test_vlan_stack_at_the_depth_bound_still_decodes() -> None:
    frame = ethernet(0x0800, IPV4, (0x8100,) * MAX_VLAN_DEPTH)
    assert link_payload(1, frame) == (4, IPV4)


def test_function_form_counts_into_given_counter() -> None:
    counter: Counter[str] = Counter()
    assert link_payload(113, b"short", counter) is None
    assert counter == {"link-truncated": 1}
    assert link_payload(113, b"short") is None  # no counter: still no exception


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 9999]), st.binary(max_size=80))
def test_fuzz_never_raises(linktype: int, data: bytes) -> None:
    decoder = LinkDecoder()
    result = decoder.decode(linktype, data)
    if result is not None:
        version, payload = result
        assert version in (4, 6)
        assert data.endswith(payload)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([0x8100, 0x88A8, 0x9100]), max_size=12), st.binary(max_size=8))
def test_fuzz_vlan_stacks(tags: list[int], tail: bytes) -> None:
    frame = ethernet(0x0800, IPV4 + tail, tuple(tags))
    result = link_payload(1, frame)
    assert result == ((4, IPV4 + tail) if len(tags) <= MAX_VLAN_DEPTH else None)
