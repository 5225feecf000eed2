"""Shared fixtures: free ports, an app served by a real uvicorn, an isolated settings environment."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

HANG = 60  # seconds a test client waits for an answer: a bound for a hung server, not a speed check
REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_udp_and_tcp_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (the HEP listener binds both)."""
    for _ in range(50):
        port = free_port()
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port found")


@contextmanager
def served(app: Any, **options: Any) -> Iterator[str]:
    """`app` under a real uvicorn on a free loopback port, in a thread; yields its base URL.

    `options` go to uvicorn.Config (e.g. http="httptools", loop="uvloop"). Start-up may take long on a
    loaded 2-core machine: the bound only catches a server that never starts."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, f"uvicorn did not start ({options})"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No PHONEWARDEN_* variables from the outside and a fresh working directory."""
    for name in list(os.environ):
        if name.startswith("PHONEWARDEN_") and not name.startswith("PHONEWARDEN_TEST"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def hep_sip_packet(
    payload: bytes, *, capture_id: int = 1, auth_key: str | None = None, time: float = 1.7e9
) -> bytes:
    """A HEP v3 packet carrying one SIP message from 198.51.100.7:5060 to 203.0.113.5:5060."""
    from phonewarden.wire.hep import HepPacket, encode_hep

    packet = HepPacket(
        version=3, ip_family=2, ip_proto=17, src="198.51.100.7", dst="203.0.113.5", sport=5060, dport=5060,
        time=time, proto_type=1, capture_id=capture_id, auth_key=auth_key, payload=payload,
        correlation_id=None, vlan=None, node_name=None, other_chunks=[],
    )  # fmt: skip
    return encode_hep(packet)
