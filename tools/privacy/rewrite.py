"""Rewrite IPv4 addresses (and a device's Ethernet MAC) in a classic pcap, fixing IP/TCP/UDP checksums."""

from __future__ import annotations

import socket
import struct
from pathlib import Path


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def rewrite_frame(frame: bytes, mapping: dict[bytes, bytes], macs: dict[bytes, bytes]) -> bytes:
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return frame
    data = bytearray(frame)
    ihl = (data[14] & 0x0F) * 4
    src, dst = bytes(data[26:30]), bytes(data[30:34])
    src, dst = mapping.get(src, src), mapping.get(dst, dst)
    data[26:30], data[30:34] = src, dst
    if src in macs:
        data[6:12] = macs[src]
    if dst in macs:
        data[0:6] = macs[dst]
    data[24:26] = b"\0\0"
    data[24:26] = struct.pack("!H", _checksum(bytes(data[14 : 14 + ihl])))
    total = struct.unpack("!H", data[16:18])[0]
    proto, start = data[23], 14 + ihl
    segment_end = min(14 + total, len(data))
    offset = {6: 16, 17: 6}.get(proto)
    if offset is not None and segment_end - start > offset + 1:
        data[start + offset : start + offset + 2] = b"\0\0"
        pseudo = src + dst + struct.pack("!BBH", 0, proto, segment_end - start)
        value = _checksum(pseudo + bytes(data[start:segment_end]))
        data[start + offset : start + offset + 2] = struct.pack("!H", value or 0xFFFF)
    return bytes(data)


def rewrite_pcap(source: Path, target: Path, mapping: dict[str, str], macs: dict[str, bytes]) -> int:
    """Copy a little-endian classic pcap, rewriting addresses; returns the frame count."""
    packed = {socket.inet_aton(a): socket.inet_aton(b) for a, b in mapping.items()}
    packed_macs = {socket.inet_aton(a): mac for a, mac in macs.items()}
    data = source.read_bytes()
    if data[:4] != b"\xd4\xc3\xb2\xa1":
        raise ValueError(f"{source}: expected a little-endian microsecond pcap")
    out, position, frames = [data[:24]], 24, 0
    while position + 16 <= len(data):
        header = data[position : position + 16]
        length = struct.unpack("<I", header[8:12])[0]
        frame = data[position + 16 : position + 16 + length]
        out += [header, rewrite_frame(frame, packed, packed_macs)]
        position += 16 + length
        frames += 1
    target.write_bytes(b"".join(out))
    return frames
