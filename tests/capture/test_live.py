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


def test_feeder_delivers_frames_and_decoded_records_on_the_loop_thread() -> None:
    import asyncio

    from phonewarden.capture.live import LiveFeeder
    from phonewarden.core.records import Frame

    _require_root_and_tcpdump()
    port = free_port(socket.SOCK_DGRAM)
    options = (
        b"OPTIONS sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-f\r\n"
        b"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: feeder-1\r\n"
        b"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    delivered: list[tuple[object, int]] = []

    async def scenario() -> None:
        feeder = LiveFeeder(
            LiveCapture("lo", f"udp port {port}"),
            lambda item: delivered.append((item, threading.get_ident())),
        )
        feeder.start(asyncio.get_running_loop())
        await asyncio.sleep(0.3)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(options, ("127.0.0.1", port))
        for _ in range(100):
            if len(delivered) >= 2:
                break
            await asyncio.sleep(0.02)
        await asyncio.to_thread(feeder.stop)

    loop_thread = threading.get_ident()
    asyncio.run(scenario())
    items = [item for item, _ in delivered]
    assert isinstance(items[0], Frame)
    assert items[1].type == "sip" and items[1].body.call_id == "feeder-1"  # type: ignore[attr-defined]
    assert {thread for _, thread in delivered} == {loop_thread}
