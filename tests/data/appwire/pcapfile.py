"""Write a classic pcap of IPv4 UDP/TCP packets so tshark can cross-check our decoders."""

from __future__ import annotations

import socket
import struct
from pathlib import Path


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def ipv4_frame(src: str, sport: int, dst: str, dport: int, payload: bytes, tcp: bool = False) -> bytes:
    """Ethernet II + IPv4 + UDP (or one TCP PSH/ACK segment) carrying `payload`."""
    if tcp:
        transport = struct.pack("!HHIIBBHHH", sport, dport, 1, 1, 5 << 4, 0x18, 65535, 0, 0) + payload
        proto = 6
    else:
        transport = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
        proto = 17
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(transport), 1, 0x4000, 64, proto, 0,
        socket.inet_aton(src), socket.inet_aton(dst),
    )  # fmt: skip
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    ethernet = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    return ethernet + header + transport


def write_pcap(path: Path, frames: list[bytes]) -> None:
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))  # LINKTYPE_ETHERNET
    for index, frame in enumerate(frames):
        out += struct.pack("<IIII", 1_700_000_000 + index, 0, len(frame), len(frame)) + frame
    path.write_bytes(bytes(out))
