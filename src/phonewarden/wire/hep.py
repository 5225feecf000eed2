"""HEP (Homer Encapsulation Protocol) v3 decoder/encoder and v1/v2 decoder; sans-I/O, never raises.

v3: "HEP3", u16 total length, then TLV chunks (u16 vendor, u16 type, u16 length incl. the 6-byte
chunk header, value). Only vendor 0 (generic) chunks are interpreted; all others are kept.
v1/v2 (Kamailio/OpenSIPS legacy): a fixed header; v2 time and capture id are in the sender's host
byte order, in practice little-endian, and that is how they are read here.
"""

from __future__ import annotations

import socket
import struct
import zlib
from collections import Counter
from dataclasses import dataclass, field

MAX_PAYLOAD = 65535  # decompression bound: a HEP record cannot carry more than this uncompressed

AF_INET, AF_INET6 = 2, 10
_CHUNK = struct.Struct("!HHH")
_U8, _U16, _U32 = struct.Struct("!B"), struct.Struct("!H"), struct.Struct("!I")
_V2_HEAD = struct.Struct("!BBBBHH")
_V2_TIME = struct.Struct("<IIH2x")
_ADDRESS_CHUNKS = {
    3: (4, socket.AF_INET),
    4: (4, socket.AF_INET),
    5: (16, socket.AF_INET6),
    6: (16, socket.AF_INET6),
}


@dataclass(slots=True)
class HepPacket:
    version: int = 3
    ip_family: int = AF_INET
    ip_proto: int = 17
    src: str = ""
    dst: str = ""
    sport: int = 0
    dport: int = 0
    time: float = 0.0
    proto_type: int = 1  # 1 SIP, 5 RTCP, 53 DNS, 100 log
    capture_id: int | None = None
    auth_key: str | None = None
    payload: bytes = b""
    correlation_id: str | None = None
    vlan: int | None = None
    node_name: str | None = None
    other_chunks: list[tuple[int, int, bytes]] = field(default_factory=list)  # (vendor, type, value)
    anomalies: tuple[str, ...] = ()


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")  # lossless and JSON-safe


def _inflate(value: bytes) -> bytes | None:
    """zlib or gzip (auto-detected), at most MAX_PAYLOAD bytes; None if corrupt or too large."""
    inflater = zlib.decompressobj(wbits=47)
    try:
        out = inflater.decompress(value, MAX_PAYLOAD)
    except zlib.error:
        return None
    return None if inflater.unconsumed_tail else out


class HepDecoder:
    """Decodes HEP datagrams (or framed TCP records) and counts what was wrong with them."""

    def __init__(self) -> None:
        self.anomalies: Counter[str] = Counter()

    def decode(self, data: bytes) -> HepPacket | None:
        """A packet, or None if the data is not HEP or carries no payload."""
        flags: list[str] = []
        if data[:4] == b"HEP3":
            packet = _decode_v3(data, flags)
        elif len(data) >= 8 and data[0] in (1, 2) and data[2] in (AF_INET, AF_INET6):
            packet = _decode_v2(data, flags)
        else:
            packet, flags = None, ["not-hep"]
        self.anomalies.update(flags)
        if packet is not None:
            packet.anomalies = tuple(flags)
        return packet


def decode_hep(data: bytes) -> HepPacket | None:
    """Stateless form of HepDecoder().decode(); anomalies still land on the packet."""
    return HepDecoder().decode(data)


def _decode_v3(data: bytes, flags: list[str]) -> HepPacket | None:
    if len(data) < 6:
        flags.append("truncated-header")
        return None
    total = _U16.unpack_from(data, 4)[0]
    if total != len(data):
        flags.append("length-mismatch")
    end = min(total, len(data)) if total >= 6 else len(data)
    packet = HepPacket()
    seen: set[int] = set()
    pos = 6
    while pos < end:
        if pos + 6 > end:
            flags.append("chunk-past-end")
            break
        vendor, kind, length = _CHUNK.unpack_from(data, pos)
        if length < 6:
            flags.append("bad-chunk-length")
            break
        if pos + length > end:
            flags.append("chunk-past-end")
            break
        value = data[pos + 6 : pos + length]
        pos += length
        if vendor != 0 or not _apply_chunk(packet, kind, value, flags):
            packet.other_chunks.append((vendor, kind, value))
        else:
            seen.add(kind)
    if 15 not in seen and 16 not in seen:
        flags.append("missing-payload")
        return None
    for kind, name in ((1, "family"), (2, "proto"), (7, "sport"), (8, "dport"), (9, "time")):
        if kind not in seen:
            flags.append(f"missing-{name}")
    if not packet.src or not packet.dst:
        flags.append("missing-address")
    return packet


def _uint(value: bytes, width: int, flags: list[str]) -> int:
    if len(value) != width:
        flags.append("bad-chunk-size")
    return int.from_bytes(value[:8], "big")


def _apply_chunk(packet: HepPacket, kind: int, value: bytes, flags: list[str]) -> bool:
    """Store a generic chunk in the packet; False for types it does not model (kept as other)."""
    if kind in _ADDRESS_CHUNKS:
        length, family = _ADDRESS_CHUNKS[kind]
        if len(value) != length:
            flags.append("bad-address-length")
            return False
        address = socket.inet_ntop(family, value)  # 10x faster than ipaddress
        if kind in (3, 5):
            packet.src = address
        else:
            packet.dst = address
        return True
    if kind == 15:
        packet.payload = value
    elif kind == 16:
        inflated = _inflate(value)
        if inflated is None:
            flags.append("bad-compressed-payload")
            return False
        packet.payload = inflated
    elif kind in (14, 17, 19):
        text = _text(value)
        if kind == 14:
            packet.auth_key = text
        elif kind == 17:
            packet.correlation_id = text
        else:
            packet.node_name = text
    elif kind in _INT_CHUNKS:
        name, width = _INT_CHUNKS[kind]
        number = _uint(value, width, flags)
        if kind == 9:
            packet.time += number
        elif kind == 10:
            packet.time += number / 1_000_000
        else:
            setattr(packet, name, number)
    else:
        return False
    return True


_INT_CHUNKS = {
    1: ("ip_family", 1), 2: ("ip_proto", 1), 7: ("sport", 2), 8: ("dport", 2), 9: ("time", 4),
    10: ("time", 4), 11: ("proto_type", 1), 12: ("capture_id", 4), 18: ("vlan", 2),
}  # fmt: skip


def _decode_v2(data: bytes, flags: list[str]) -> HepPacket | None:
    version, header_len, family, proto, sport, dport = _V2_HEAD.unpack_from(data)
    address_len = 4 if family == AF_INET else 16
    expected = _V2_HEAD.size + 2 * address_len + (_V2_TIME.size if version == 2 else 0)
    if header_len != expected or len(data) < expected:
        flags.append("not-hep")
        return None
    pos = _V2_HEAD.size
    socket_family = socket.AF_INET if family == AF_INET else socket.AF_INET6
    src = socket.inet_ntop(socket_family, data[pos : pos + address_len])
    dst = socket.inet_ntop(socket_family, data[pos + address_len : pos + 2 * address_len])
    packet = HepPacket(version, family, proto, src, dst, sport, dport)
    if version == 2:
        seconds, micros, capture_id = _V2_TIME.unpack_from(data, pos + 2 * address_len)
        packet.time = seconds + micros / 1_000_000
        packet.capture_id = capture_id
    else:
        flags.append("no-timestamp")
    packet.payload = data[expected:]
    if not packet.payload:
        flags.append("missing-payload")
        return None
    return packet


def encode_hep(packet: HepPacket) -> bytes:
    """HEP v3 record for the packet; raises ValueError for unencodable fields (bad addresses)."""
    seconds, micros = divmod(round(packet.time * 1_000_000), 1_000_000)
    src, dst = _packed(packet.src), _packed(packet.dst)
    chunks = [
        _chunk(1, _U8.pack(packet.ip_family)),
        _chunk(2, _U8.pack(packet.ip_proto)),
        _chunk(5 if len(src) == 16 else 3, src),
        _chunk(6 if len(dst) == 16 else 4, dst),
        _chunk(7, _U16.pack(packet.sport)),
        _chunk(8, _U16.pack(packet.dport)),
        _chunk(9, _U32.pack(seconds)),
        _chunk(10, _U32.pack(micros)),
        _chunk(11, _U8.pack(packet.proto_type)),
    ]
    if packet.capture_id is not None:
        chunks.append(_chunk(12, _U32.pack(packet.capture_id)))
    if packet.auth_key is not None:
        chunks.append(_chunk(14, packet.auth_key.encode()))
    chunks.append(_chunk(15, packet.payload))
    if packet.correlation_id is not None:
        chunks.append(_chunk(17, packet.correlation_id.encode()))
    if packet.vlan is not None:
        chunks.append(_chunk(18, _U16.pack(packet.vlan)))
    if packet.node_name is not None:
        chunks.append(_chunk(19, packet.node_name.encode()))
    chunks.extend(_chunk(kind, value, vendor) for vendor, kind, value in packet.other_chunks)
    body = b"".join(chunks)
    if len(body) + 6 > 0xFFFF:
        raise ValueError("HEP record longer than 65535 bytes")
    return b"HEP3" + _U16.pack(len(body) + 6) + body


def _packed(address: str) -> bytes:
    """IPv4 or IPv6 text to its 4 or 16 bytes; ValueError if it is neither."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            return socket.inet_pton(family, address)
        except OSError:
            continue
    raise ValueError(f"not an IP address: {address!r}")


def _chunk(kind: int, value: bytes, vendor: int = 0) -> bytes:
    return _CHUNK.pack(vendor, kind, len(value) + 6) + value


class HepStreamFramer:
    """Cuts a TCP byte stream into "HEP3" records; skips garbage up to the next "HEP3" marker."""

    def __init__(self, max_buffer: int = 65536) -> None:
        self.max_buffer = max_buffer
        self.anomalies: Counter[str] = Counter()
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Add stream bytes; return every record completed by them, in order."""
        buffer = self._buffer
        buffer += data
        records: list[bytes] = []
        pos = 0
        while len(buffer) - pos >= 6:
            if buffer[pos : pos + 4] != b"HEP3":
                pos = self._resync(buffer, pos)
                continue
            length = _U16.unpack_from(buffer, pos + 4)[0]
            if length < 6 or length > self.max_buffer:
                self.anomalies["bad-length"] += 1
                pos = self._resync(buffer, pos + 1)
                continue
            if len(buffer) - pos < length:
                break
            records.append(bytes(buffer[pos : pos + length]))
            pos += length
        if pos < len(buffer) and buffer[pos : pos + 4] != b"HEP3"[: len(buffer) - pos]:
            pos = self._resync(buffer, pos)
        del buffer[:pos]
        return records

    def _resync(self, buffer: bytearray, pos: int) -> int:
        """Offset of the next "HEP3" at or after pos; keeps a tail that may start one."""
        found = buffer.find(b"HEP3", pos)
        if found == pos:
            return pos
        self.anomalies["garbage"] += 1
        if found >= 0:
            return found
        return max(pos, len(buffer) - 3)
