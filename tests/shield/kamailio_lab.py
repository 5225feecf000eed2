"""Run the lab Kamailio (tools/shield/kamailio-shield.cfg) for tests: start, wait until it answers, stop."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from tests.conftest import REPO
from tests.shield.netns import require_tool

CONFIG = REPO / "tools" / "shield" / "kamailio-shield.cfg"


def options(source: tuple[str, int], n: int | str, target: str = "pbx.example.test") -> bytes:
    host, port = source
    via_host = f"[{host}]" if ":" in host else host
    return (
        f"OPTIONS sip:{target} SIP/2.0\r\nVia: SIP/2.0/UDP {via_host}:{port};branch=z9hG4bK-pw{n}\r\n"
        f"From: <sip:probe@pbx.example.test>;tag=p{n}\r\nTo: <sip:pbx.example.test>\r\nCall-ID: pw-{n}\r\n"
        "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def answers_options(sock: socket.socket, server: tuple[str, int], n: int | str, wait_s: float = 0.4) -> bool:
    """Send one OPTIONS from `sock`; True when Kamailio's reply for exactly that Call-ID arrives."""
    sock.settimeout(wait_s)
    sock.sendto(options(sock.getsockname()[:2], n), server)
    deadline = time.monotonic() + wait_s
    try:
        while time.monotonic() < deadline:
            data = sock.recv(4096)
            if f"Call-ID: pw-{n}\r\n".encode() in data:
                return True
    except TimeoutError:
        pass
    return False


def start_kamailio(
    listen: Sequence[str], workdir: Path, defines: Sequence[str] = (), prefix: Sequence[str] = ()
) -> subprocess.Popen[bytes]:
    """Kamailio in the foreground on the `-l` sockets; `prefix` runs it elsewhere (ip netns exec)."""
    binary = require_tool("kamailio")
    argv = [
        *prefix,
        binary,
        "-DD",
        "-E",
        "-f",
        str(CONFIG),
        "-Y",
        str(workdir),
        "-P",
        str(workdir / "kamailio.pid"),
    ]
    for item in listen:
        argv += ["-l", item]
    for define in defines:
        argv += ["-A", define]
    with open(workdir / "kamailio.log", "wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)


def wait_answering(
    process: subprocess.Popen[bytes], sock: socket.socket, server: tuple[str, int], log: Path
) -> None:
    for attempt in range(40):
        if process.poll() is not None:
            raise AssertionError(f"kamailio exited {process.returncode}:\n{log.read_text()[-3000:]}")
        if answers_options(sock, server, f"ready{attempt}", wait_s=0.25):
            return
    raise AssertionError(f"kamailio did not answer OPTIONS at {server}:\n{log.read_text()[-3000:]}")


def stop_kamailio(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
