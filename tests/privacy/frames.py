"""Ethernet/IPv4 frames for engine tests: TCP segments with chosen sequence numbers and flags."""

from __future__ import annotations

import socket
import struct

from phonewarden.core.records import Frame

SYN, ACK, FIN, PSH, RST = 0x02, 0x10, 0x01, 0x08, 0x04
PHONE_MAC = bytes.fromhex("4cbc98123456")


def tcp_frame(time: float, src: str, sport: int, dst: str, dport: int, seq: int, flags: int,
              payload: bytes = b"") -> Frame:  # fmt: skip
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, 0, 0x50, flags, 65535, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, socket.inet_aton(src),
                     socket.inet_aton(dst)) + tcp  # fmt: skip
    data = b"\x00\x11\x22\x33\x44\x55" + PHONE_MAC + b"\x08\x00" + ip
    return Frame(time, 1, data, len(data))


def connection(src: str, dst: str, dport: int, pieces: list[bytes], order: list[int] | None = None,
               sport: int = 40000, isn: int = 1000) -> list[Frame]:  # fmt: skip
    """A client SYN, the server's SYN-ACK, the pieces (in `order`), an answer, and FINs."""
    frames = [
        tcp_frame(0.0, src, sport, dst, dport, isn, SYN),
        tcp_frame(0.1, dst, dport, src, sport, 5000, SYN | ACK),
    ]
    offsets, position = [], isn + 1
    for piece in pieces:
        offsets.append(position)
        position += len(piece)
    for step, index in enumerate(order if order is not None else range(len(pieces))):
        frames.append(
            tcp_frame(0.2 + step / 100, src, sport, dst, dport, offsets[index], ACK | PSH, pieces[index])
        )
        frames.append(tcp_frame(0.25 + step / 100, dst, dport, src, sport, 5001, ACK))
    frames.append(
        tcp_frame(
            0.5, dst, dport, src, sport, 5001, ACK | PSH, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        )
    )
    frames.append(tcp_frame(0.6, src, sport, dst, dport, position, FIN | ACK))
    frames.append(tcp_frame(0.7, dst, dport, src, sport, 5040, FIN | ACK))
    return frames
