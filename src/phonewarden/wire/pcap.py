"""Incremental pcap / pcapng reader: capture-file bytes in, Frames out.

Sans-I/O: the caller reads the file (and decompresses gzip, see `is_gzip`) and feeds chunks of any
size; the result never depends on the chunking. Hostile input never raises: problems are counted in
`anomalies` and skipped. Damage that makes the record boundaries unknowable (an absurd record length,
an unknown magic) stops decoding for good, so one bad length cannot turn into a flood of garbage.
"""

from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass

from phonewarden.core.records import Frame

# Larger than any real frame (Wireshark's biggest limit is 16 MiB for USB/D-Bus) and a bound on how
# much a hostile length field can make us buffer.
MAX_RECORD_BYTES = 1 << 24

_PCAP_MAGICS: dict[bytes, tuple[str, float, int]] = {
    # first four file bytes -> (byte order, seconds per timestamp fraction unit, record header size)
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6, 16),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6, 16),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9, 16),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9, 16),
    # Alexey Kuznetzov's patched libpcap: 8 extra bytes per record header.
    b"\x34\xcd\xb2\xa1": ("<", 1e-6, 24),
    b"\xa1\xb2\xcd\x34": (">", 1e-6, 24),
}
_PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
_BYTE_ORDER_MAGIC = 0x1A2B3C4D

_IDB, _PB, _SPB, _EPB = 1, 2, 3, 6
# Blocks that carry nothing we need but are legitimate: NRB, ISB, IRIG, ARINC, systemd journal,
# decryption secrets, custom (copyable and not).
_SKIPPED_BLOCKS = frozenset({4, 5, 7, 8, 9, 0x0A, 0xBAD, 0x40000BAD})
_OPT_IF_TSRESOL, _OPT_IF_TSOFFSET = 9, 14


def is_gzip(prefix: bytes) -> bool:
    """True if the data starts with the gzip magic; the capture layer decompresses, not us."""
    return prefix[:2] == b"\x1f\x8b"


@dataclass(slots=True)
class _Interface:
    linktype: int
    snaplen: int
    units_per_second: int
    offset_seconds: int


class CaptureFileDecoder:
    """Decodes a classic pcap or pcapng byte stream fed in arbitrary chunks.

    `format` is None until the magic has been read, then "pcap" or "pcapng". An unknown magic counts
    "not-a-capture" and every later feed returns nothing: the caller should report a clear error.
    Frames from pcapng Simple Packet Blocks, which have no timestamp, take the previous frame's time.
    """

    def __init__(self) -> None:
        self.format: str | None = None
        self.anomalies: Counter[str] = Counter()
        self._buf = b""
        self._dead = False
        # classic pcap
        self._order = "<"
        self._frac_unit = 1e-6
        self._record_header = 16
        self._linktype = 0
        # pcapng
        self._interfaces: list[_Interface] = []
        self._last_time = 0.0

    def feed(self, data: bytes) -> list[Frame]:
        if self._dead:
            return []
        buf = self._buf + data if self._buf else bytes(data)
        frames: list[Frame] = []
        if self.format is None:
            start = self._detect(buf)
            if start is None:
                self._buf = b"" if self._dead else buf
                return frames
            buf = buf[start:]
        used = self._pcap_records(buf, frames) if self.format == "pcap" else self._blocks(buf, frames)
        self._buf = b"" if self._dead else buf[used:]
        return frames

    def close(self) -> None:
        """Counts trailing bytes that never formed a whole record."""
        if self._buf and not self._dead:
            if self.format is None:
                self.anomalies["capture-truncated-header"] += 1
            else:
                self.anomalies[f"{self.format}-truncated-record"] += 1
        self._stop()

    def _detect(self, buf: bytes) -> int | None:
        """Reads the magic (and the pcap global header); returns where records start, None if waiting."""
        if len(buf) < 4:
            return None
        magic = buf[:4]
        if magic == _PCAPNG_SHB:
            self.format = "pcapng"
            return 0
        if magic not in _PCAP_MAGICS:
            self.anomalies["not-a-capture"] += 1
            self._stop()
            return None
        if len(buf) < 24:
            return None
        self.format = "pcap"
        self._order, self._frac_unit, self._record_header = _PCAP_MAGICS[magic]
        # The upper bits of the link type field carry FCS information, not the link type.
        self._linktype = struct.unpack_from(self._order + "I", buf, 20)[0] & 0xFFFF
        return 24

    def _stop(self) -> None:
        self._dead = True
        self._buf = b""

    def _pcap_records(self, buf: bytes, frames: list[Frame]) -> int:
        header = struct.Struct(self._order + "IIII")
        unpack, hlen = header.unpack_from, self._record_header
        frac_unit, linktype, append = self._frac_unit, self._linktype, frames.append
        pos, end = 0, len(buf)
        while end - pos >= hlen:
            seconds, fraction, caplen, wirelen = unpack(buf, pos)
            if caplen > MAX_RECORD_BYTES:
                self.anomalies["pcap-record-too-large"] += 1
                self._stop()
                return pos
            start = pos + hlen
            if end - start < caplen:
                break
            pos = start + caplen
            append(Frame(seconds + fraction * frac_unit, linktype, buf[start:pos], wirelen))
        return pos

    def _blocks(self, buf: bytes, frames: list[Frame]) -> int:
        pos, end = 0, len(buf)
        while end - pos >= 12:
            if buf[pos : pos + 4] == _PCAPNG_SHB:
                bom = buf[pos + 8 : pos + 12]
                if bom == b"\x4d\x3c\x2b\x1a":
                    self._order = "<"
                elif bom == b"\x1a\x2b\x3c\x4d":
                    self._order = ">"
                else:
                    self.anomalies["pcapng-bad-byte-order"] += 1
                    self._stop()
                    return pos
            order = self._order
            block_type, length = struct.unpack_from(order + "II", buf, pos)
            if length < 12 or length % 4 or length > MAX_RECORD_BYTES:
                self.anomalies["pcapng-bad-block-length"] += 1
                self._stop()
                return pos
            if end - pos < length:
                break
            if struct.unpack_from(order + "I", buf, pos + length - 4)[0] != length:
                self.anomalies["pcapng-block-length-mismatch"] += 1
            body = memoryview(buf)[pos + 8 : pos + length - 4]
            if block_type == _EPB:
                self._packet(body, "I", frames)
            elif block_type == _SPB:
                self._simple_packet(body, frames)
            elif block_type == _IDB:
                self._interface(body)
            elif block_type == _PB:
                self._packet(body, "H", frames)
            elif block_type == 0x0A0D0D0A:
                self._interfaces = []
            elif block_type not in _SKIPPED_BLOCKS:
                self.anomalies["pcapng-unknown-block"] += 1
            pos += length
        return pos

    def _packet(self, body: memoryview, id_format: str, frames: list[Frame]) -> None:
        """EPB (32-bit interface id) or the obsolete Packet Block (16-bit id + 16-bit drop count)."""
        fmt = self._order + ("IIIII" if id_format == "I" else "HxxIIII")
        if len(body) < 20:
            self.anomalies["pcapng-truncated-packet-block"] += 1
            return
        interface_id, ts_high, ts_low, caplen, wirelen = struct.unpack_from(fmt, body, 0)
        if interface_id >= len(self._interfaces):
            self.anomalies["pcapng-unknown-interface"] += 1
            return
        if caplen > len(body) - 20:
            self.anomalies["pcapng-bad-captured-length"] += 1
            return
        interface = self._interfaces[interface_id]
        seconds, fraction = divmod((ts_high << 32) | ts_low, interface.units_per_second)
        time = seconds + interface.offset_seconds + fraction / interface.units_per_second
        self._last_time = time
        frames.append(Frame(time, interface.linktype, bytes(body[20 : 20 + caplen]), wirelen, interface_id))

    def _simple_packet(self, body: memoryview, frames: list[Frame]) -> None:
        if len(body) < 4:
            self.anomalies["pcapng-truncated-packet-block"] += 1
            return
        if not self._interfaces:
            self.anomalies["pcapng-unknown-interface"] += 1
            return
        interface = self._interfaces[0]
        wirelen = struct.unpack_from(self._order + "I", body, 0)[0]
        caplen = min(wirelen, len(body) - 4)
        if interface.snaplen:
            caplen = min(caplen, interface.snaplen)
        frames.append(Frame(self._last_time, interface.linktype, bytes(body[4 : 4 + caplen]), wirelen))

    def _interface(self, body: memoryview) -> None:
        if len(body) < 8:
            self.anomalies["pcapng-truncated-interface-block"] += 1
            return
        linktype, snaplen = struct.unpack_from(self._order + "HxxI", body, 0)
        units, offset = 1_000_000, 0
        pos = 8
        while len(body) - pos >= 4:
            code, size = struct.unpack_from(self._order + "HH", body, pos)
            value = body[pos + 4 : pos + 4 + size]
            if code == 0 or len(value) < size:
                break
            if code == _OPT_IF_TSRESOL and size >= 1:
                exponent = value[0] & 0x7F
                units = 2**exponent if value[0] & 0x80 else 10**exponent
            elif code == _OPT_IF_TSOFFSET and size >= 8:
                offset = struct.unpack_from(self._order + "q", value, 0)[0]
            pos += 4 + size + (-size % 4)
        self._interfaces.append(_Interface(linktype, snaplen, units, offset))
