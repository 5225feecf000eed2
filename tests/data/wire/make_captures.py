"""Regenerates the real captures in this directory (needs root or CAP_NET_RAW, tshark, editcap).

    python tests/data/wire/make_captures.py

1. tshark captures loopback traffic on port 5099 (UDP over IPv4 and IPv6, one TCP connection)
   three ways at once: `lo` (Ethernet, pcapng), `any` as LINUX_SLL2 (pcapng) and LINUX_SLL (pcap).
2. editcap converts the Ethernet capture to classic pcap (µs), nanosecond pcap and modified pcap.
3. Link types no local interface offers (raw IP, null/loopback, 228/229) and a big-endian pcap are
   written here with struct from the Ethernet frames; a two-section pcapng is two files concatenated;
   fragmented IPv4/IPv6 UDP (with IPv6 extension headers) is synthesised.
Every file is then checked by tshark itself in tests/wire/test_packets.py, so a mistake here shows
up as a disagreement, not as a silently wrong expectation.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PORT = 45099  # not 5099: other test suites on this host use it and would leak into the captures
FILTER = f"port {PORT}"


def _capture(args: list[str], out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["tshark", *args, "-f", FILTER, "-w", str(out), "-a", "duration:4", "-q"],
        stderr=subprocess.DEVNULL,
    )


def _traffic() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp4:
        for size in (0, 1, 17, 300, 1400, 4000):
            udp4.sendto(bytes(range(256)) * (size // 256) + bytes(size % 256), ("127.0.0.1", PORT))
            time.sleep(0.01)
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as udp6:
        for size in (5, 900):
            udp6.sendto(b"v6" * (size // 2), ("::1", PORT))
            time.sleep(0.01)
    server = socket.create_server(("127.0.0.1", PORT))

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            while data := connection.recv(65536):
                connection.sendall(data.upper())

    thread = threading.Thread(target=serve)
    thread.start()
    with socket.create_connection(("127.0.0.1", PORT)) as client:
        for index in range(5):
            client.sendall(b"OPTIONS sip:%d@example.invalid SIP/2.0\r\n\r\n" % index)
            client.recv(65536)
            time.sleep(0.01)
    thread.join()
    server.close()


def _read_pcap(path: Path) -> tuple[list[tuple[int, int, bytes, int]], int]:
    """(ts_sec, ts_usec, data, orig_len) records and the link type of a little-endian µs pcap."""
    raw = path.read_bytes()
    linktype = struct.unpack_from("<I", raw, 20)[0]
    records, pos = [], 24
    while pos < len(raw):
        sec, usec, caplen, wirelen = struct.unpack_from("<IIII", raw, pos)
        records.append((sec, usec, raw[pos + 16 : pos + 16 + caplen], wirelen))
        pos += 16 + caplen
    return records, linktype


def _write_pcap(
    path: Path, linktype: int, records: list[tuple[int, int, bytes, int]], order: str = "<"
) -> None:
    out = [struct.pack(order + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype)]
    for sec, usec, data, wirelen in records:
        out.append(struct.pack(order + "IIII", sec, usec, len(data), wirelen) + data)
    path.write_bytes(b"".join(out))


def _ethernet(payload: bytes, ethertype: int) -> bytes:
    return b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02" + struct.pack("!H", ethertype) + payload


def _fragments() -> list[tuple[int, int, bytes, int]]:
    """IPv4 UDP in three fragments sent out of order, and IPv6 UDP behind hop-by-hop and
    destination-options headers in two fragments."""
    body = bytes(range(256)) * 8
    udp = struct.pack("!HHHH", 40000, PORT, 8 + len(body), 0) + body
    frames = []
    chunks = [(0, udp[:1000]), (1000, udp[1000:2000]), (2000, udp[2000:])]
    for index in (2, 0, 1):
        offset, chunk = chunks[index]
        more = 0x2000 if offset + len(chunk) < len(udp) else 0
        header = struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            20 + len(chunk),
            0x1234,
            more | offset // 8,
            64,
            17,
            0,
            bytes([192, 0, 2, 1]),
            bytes([192, 0, 2, 2]),
        )
        frames.append(_ethernet(header + chunk, 0x0800))
    hop_by_hop = bytes([60, 0, 1, 4, 0, 0, 0, 0])  # next: dest options; PadN
    dest_opts = bytes([44, 0, 1, 4, 0, 0, 0, 0])  # next: fragment
    for offset, chunk in ((0, udp[:1200]), (1200, udp[1200:])):
        more = 1 if offset + len(chunk) < len(udp) else 0
        fragment = struct.pack("!BxHI", 17, offset | more, 0xABCDEF)
        payload = hop_by_hop + dest_opts + fragment + chunk
        header = struct.pack(
            "!IHBB16s16s",
            0x60000000,
            len(payload),
            0,
            64,
            socket.inet_pton(socket.AF_INET6, "2001:db8::1"),
            socket.inet_pton(socket.AF_INET6, "2001:db8::2"),
        )
        frames.append(_ethernet(header + payload, 0x86DD))
    return [(1_700_000_000 + index, 250_000, frame, len(frame)) for index, frame in enumerate(frames)]


def main() -> None:
    tmp = Path("/tmp/phonewarden-captures")
    tmp.mkdir(exist_ok=True)
    captures = [
        _capture(["-i", "lo"], tmp / "lo.pcapng"),
        _capture(["-i", "any", "-y", "LINUX_SLL2"], tmp / "any-sll2.pcapng"),
        _capture(["-i", "any", "-y", "LINUX_SLL", "-F", "pcap"], tmp / "any-sll.pcap"),
    ]
    time.sleep(2)
    _traffic()
    for process in captures:
        process.wait()
    for name in ("lo.pcapng", "any-sll2.pcapng", "any-sll.pcap"):
        (HERE / name).write_bytes((tmp / name).read_bytes())
    for fmt, name in (("pcap", "lo.pcap"), ("nsecpcap", "lo-nsec.pcap"), ("modpcap", "lo-mod.pcap")):
        subprocess.run(["editcap", "-F", fmt, str(HERE / "lo.pcapng"), str(HERE / name)], check=True)
    records, _ = _read_pcap(HERE / "lo.pcap")
    _write_pcap(HERE / "lo-bigendian.pcap", 1, records, ">")
    ip_only = [(sec, usec, data[14:], wirelen - 14) for sec, usec, data, wirelen in records]
    _write_pcap(HERE / "raw.pcap", 101, ip_only)
    _write_pcap(HERE / "ipv4-linktype.pcap", 228, [r for r in ip_only if r[2][0] >> 4 == 4])
    families = {4: 2, 6: 30}
    null = [(s, u, struct.pack("<I", families[d[0] >> 4]) + d, w + 4) for s, u, d, w in ip_only]
    _write_pcap(HERE / "null.pcap", 0, null)
    loop = [(s, u, struct.pack(">I", families[d[0] >> 4]) + d, w + 4) for s, u, d, w in ip_only]
    _write_pcap(HERE / "loop.pcap", 108, loop)
    (HERE / "two-sections.pcapng").write_bytes(
        (HERE / "lo.pcapng").read_bytes() + (HERE / "any-sll2.pcapng").read_bytes()
    )
    _write_pcap(HERE / "fragments.pcap", 1, _fragments())


if __name__ == "__main__":
    main()
