"""Link layer: strips the link header of a captured frame and says which IP version follows.

`link_payload` is a pure function that counts anomalies into the Counter it is given (if any);
`LinkDecoder` wraps it with its own `anomalies` Counter. Non-IP frames (ARP, LLDP, ...) are a normal
None; truncated or malformed headers and unsupported link types are None plus an anomaly.
"""

from __future__ import annotations

from collections import Counter

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_LOOP = 108
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
_RAW_LINKTYPES = frozenset({LINKTYPE_RAW, 12, 14})  # 12 and 14 are the DLT_RAW of some BSDs

_ETHERTYPE_IP = {0x0800: 4, 0x86DD: 6}
_VLAN_TAGS = frozenset({0x8100, 0x88A8, 0x9100})
MAX_VLAN_DEPTH = 8  # real stacks are 1-2 deep; the bound stops a frame made of tags costing a loop
# BSD address families: AF_INET is 2 everywhere, AF_INET6 differs (NetBSD/OpenBSD, FreeBSD, Darwin).
_NULL_FAMILY_IP = {2: 4, 24: 6, 28: 6, 30: 6}


def link_payload(
    linktype: int, data: bytes, anomalies: Counter[str] | None = None
) -> tuple[int, bytes] | None:
    """(IP version, IP packet bytes) carried by a frame of this link type, or None."""
    if linktype == LINKTYPE_ETHERNET:
        return _ethertype_payload(data, 12, anomalies)
    if linktype == LINKTYPE_LINUX_SLL2:
        return _ethertype_payload(data, 0, anomalies, header_end=20)
    if linktype == LINKTYPE_LINUX_SLL:
        return _ethertype_payload(data, 14, anomalies)
    if linktype in _RAW_LINKTYPES:
        return _raw(data, anomalies)
    if linktype == LINKTYPE_IPV4:
        return (4, data)
    if linktype == LINKTYPE_IPV6:
        return (6, data)
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        return _null(data, anomalies)
    _count(anomalies, "link-unsupported-linktype")
    return None


class LinkDecoder:
    """`link_payload` with a per-decoder anomaly Counter."""

    def __init__(self) -> None:
        self.anomalies: Counter[str] = Counter()

    def decode(self, linktype: int, data: bytes) -> tuple[int, bytes] | None:
        return link_payload(linktype, data, self.anomalies)


def _count(anomalies: Counter[str] | None, key: str) -> None:
    if anomalies is not None:
        anomalies[key] += 1


def _ethertype_payload(
    data: bytes, type_offset: int, anomalies: Counter[str] | None, header_end: int | None = None
) -> tuple[int, bytes] | None:
    """Follows the EtherType at type_offset through any VLAN tags; the payload starts after the type
    field unless the header continues past it (SLL2 puts the protocol first)."""
    end = type_offset + 2 if header_end is None else header_end
    if len(data) < end:
        _count(anomalies, "link-truncated")
        return None
    ethertype = (data[type_offset] << 8) | data[type_offset + 1]
    depth = 0
    while ethertype in _VLAN_TAGS:
        depth += 1
        if depth > MAX_VLAN_DEPTH:
            _count(anomalies, "link-vlan-too-deep")
            return None
        # A tag is 2 bytes of TCI followed by the next EtherType.
        if len(data) < end + 4:
            _count(anomalies, "link-truncated")
            return None
        ethertype = (data[end + 2] << 8) | data[end + 3]
        end += 4
    version = _ETHERTYPE_IP.get(ethertype)
    if version is None:
        return None
    return (version, data[end:])


def _raw(data: bytes, anomalies: Counter[str] | None) -> tuple[int, bytes] | None:
    if not data:
        _count(anomalies, "link-truncated")
        return None
    version = data[0] >> 4
    if version not in (4, 6):
        _count(anomalies, "link-raw-bad-version")
        return None
    return (version, data)


def _null(data: bytes, anomalies: Counter[str] | None) -> tuple[int, bytes] | None:
    """The 4-byte family is in the capturing host's byte order for NULL (network order for LOOP,
    but writers get that wrong too), so accept either order."""
    if len(data) < 4:
        _count(anomalies, "link-truncated")
        return None
    family = int.from_bytes(data[:4], "little")
    version = _NULL_FAMILY_IP.get(family) or _NULL_FAMILY_IP.get(int.from_bytes(data[:4], "big"))
    if version is None:
        return None
    return (version, data[4:])
