"""Live capture on a Linux interface: an AF_PACKET socket with a kernel BPF filter.

The filter expression is compiled by tcpdump (`-ddd`, argv, no shell), so operators write the same
filters they know. Frames carry the kernel's receive timestamp (SO_TIMESTAMPNS), not our clock.
"""

from __future__ import annotations

import asyncio
import ctypes
import shutil
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

from phonewarden.core.records import Frame

ETH_P_ALL = 0x0003
SO_ATTACH_FILTER = 26
SO_TIMESTAMPNS = 35
PACKET_OUTGOING = 4
LINKTYPE_ETHERNET = 1
ARPHRD_NONE = 0xFFFE  # tun/wireguard: frames start at the IP header
LINKTYPE_RAW = 101


class LiveCaptureError(Exception):
    """Live capture could not start; the message says why (permission, interface, filter)."""


def compile_filter(interface: str, expression: str) -> list[tuple[int, int, int, int]]:
    """Compile a pcap filter expression into classic BPF instructions with tcpdump."""
    tcpdump = shutil.which("tcpdump")
    if tcpdump is None:
        raise LiveCaptureError("tcpdump is needed to compile the BPF filter (apt-get install tcpdump)")
    result = subprocess.run(
        [tcpdump, "-i", interface, "-ddd", expression], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise LiveCaptureError(f"filter {expression!r} on {interface}: {result.stderr.strip()}")
    lines = result.stdout.split("\n")
    count = int(lines[0])
    program = [tuple(int(field) for field in line.split()) for line in lines[1 : 1 + count]]
    return [(code, jt, jf, k) for code, jt, jf, k in program]


class LiveCapture:
    """Iterate frames from `interface`, stopping after `max_frames` or `max_seconds` if given."""

    def __init__(self, interface: str, bpf_filter: str = "", snaplen: int = 65535) -> None:
        self.interface = interface
        self.bpf_filter = bpf_filter
        self.snaplen = snaplen
        self.dropped_outgoing = 0

    def _open(self) -> socket.socket:
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        except PermissionError as exc:
            raise LiveCaptureError("live capture needs root or CAP_NET_RAW") from exc
        try:
            sock.bind((self.interface, 0))
        except OSError as exc:
            sock.close()
            raise LiveCaptureError(f"interface {self.interface!r}: {exc.strerror}") from exc
        if self.bpf_filter:
            program = compile_filter(self.interface, self.bpf_filter)
            code = b"".join(struct.pack("HBBI", *insn) for insn in program)
            buffer = ctypes.create_string_buffer(code)
            fprog = struct.pack("HL", len(program), ctypes.addressof(buffer))
            sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
            _drain(sock)  # frames queued before the filter was attached did not pass it
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.settimeout(0.2)
        return sock

    def frames(
        self,
        max_frames: int | None = None,
        max_seconds: float | None = None,
        stop: threading.Event | None = None,
    ) -> Iterator[Frame]:
        """Frames until `max_frames`, `max_seconds` or `stop` is set (checked at least every 0.2 s)."""
        sock = self._open()
        is_loopback = self.interface == "lo"
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        seen = 0
        try:
            while max_frames is None or seen < max_frames:
                if (deadline is not None and time.monotonic() >= deadline) or (
                    stop is not None and stop.is_set()
                ):
                    return
                try:
                    data, ancillary, _, address = sock.recvmsg(self.snaplen, 64)
                except TimeoutError:
                    continue
                # On loopback the kernel shows every packet twice (out and in); keep one like libpcap.
                if is_loopback and address[2] == PACKET_OUTGOING:
                    self.dropped_outgoing += 1
                    continue
                seen += 1
                linktype = LINKTYPE_RAW if address[3] == ARPHRD_NONE else LINKTYPE_ETHERNET
                yield Frame(_timestamp(ancillary), linktype, data, len(data))
        finally:
            sock.close()


def _timestamp(ancillary: list[tuple[int, int, bytes]]) -> float:
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
            seconds, nanoseconds = struct.unpack_from("qq", value)
            return float(seconds) + float(nanoseconds) / 1e9
    return time.time()


def _drain(sock: socket.socket) -> None:
    sock.setblocking(False)
    try:
        while True:
            sock.recv(65536)
    except BlockingIOError:
        pass


class LiveFeeder:
    """Runs a live capture in a thread and hands each frame, and the records decoded from it, to
    `deliver` on the event loop's thread, so consumers never see two threads at once."""

    def __init__(self, capture: LiveCapture, deliver: Callable[[object], None]) -> None:
        self.capture = capture
        self.deliver = deliver
        self.frames = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        from phonewarden.wire.traffic import TrafficDecoder  # capture sits above wire

        decoder = TrafficDecoder()

        def run() -> None:
            for frame in self.capture.frames(stop=self._stop):
                self.frames += 1
                records = decoder.feed(frame)
                loop.call_soon_threadsafe(self._deliver_all, [frame, *records])

        self._thread = threading.Thread(target=run, name=f"live-{self.capture.interface}", daemon=True)
        self._thread.start()

    def _deliver_all(self, items: list[object]) -> None:
        for item in items:
            self.deliver(item)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
