"""Live capture on the loopback interface with a kernel BPF filter compiled by tcpdump."""

import os
import shutil
import socket
import threading
import time

import pytest

from phonewarden.capture.live import LiveCapture, LiveCaptureError, compile_filter
from phonewarden.wire.packets import PacketDecoder
from tests.conftest import free_port

pytestmark = pytest.mark.peer


def _require_root_and_tcpdump() -> None:
    if os.geteuid() != 0:
        pytest.skip("live capture needs root (CAP_NET_RAW); run the suite as root")
    assert shutil.which("tcpdump"), "tcpdump missing: `make debs` installs it"


def test_filter_compiles_and_a_bad_filter_is_named() -> None:
    _require_root_and_tcpdump()
    program = compile_filter("lo", "udp port 5060")
    assert program and all(len(insn) == 4 for insn in program)
    with pytest.raises(LiveCaptureError, match="no such port"):
        compile_filter("lo", "udp port no such port")


def test_captures_only_filtered_loopback_traffic_with_kernel_timestamps() -> None:
    _require_root_and_tcpdump()
    wanted, other = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)

    def send() -> None:
        time.sleep(0.3)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for index in range(3):
                sender.sendto(b"other %d" % index, ("127.0.0.1", other))
                sender.sendto(b"wanted %d" % index, ("127.0.0.1", wanted))

    thread = threading.Thread(target=send)
    thread.start()
    started = time.time()
    capture = LiveCapture("lo", f"udp port {wanted}")
    frames = list(capture.frames(max_frames=3, max_seconds=5))
    thread.join()
    decoder = PacketDecoder()
    payloads = [segment.payload for frame in frames for segment in decoder.feed(frame)]
    assert payloads == [b"wanted 0", b"wanted 1", b"wanted 2"]
    assert all(started - 1 < frame.time < time.time() + 1 for frame in frames)
    assert capture.dropped_outgoing >= 3  # loopback shows each packet twice; one copy is kept


def test_unknown_interface_is_a_clear_error() -> None:
    _require_root_and_tcpdump()
    with pytest.raises(LiveCaptureError, match="no-such-if0"):
        next(LiveCapture("no-such-if0").frames(max_seconds=0.1))
