"""SIP probes against sipp as a UAS on loopback (the namespace lab covers the same over real routing)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from phonewarden.audit.probe_sip import ghost_invite, options_stream, options_udp
from tests.audit.phones import TOOLS, require_peers
from tests.conftest import free_udp_and_tcp_port

UA = "Yealink SIP-T46S 66.84.0.20"


def _sipp(tmp_path: Path, scenario: str, transport: str, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            "sipp",
            "-sf",
            str(TOOLS / scenario),
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-t",
            transport,
            "-key",
            "ua",
            UA,
            "-cp",
            str(free_udp_and_tcp_port()),
            "-nostdin",
            "-m",
            "100",
            "-trace_err",
            "-error_file",
            str(tmp_path / f"{transport}.err"),
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def rings(tmp_path: Path) -> Iterator[int]:
    require_peers()
    port = free_udp_and_tcp_port()
    processes = [
        _sipp(tmp_path, "phone_rings.xml", "u1", port),
        _sipp(tmp_path, "phone_rings.xml", "t1", port),
    ]
    try:
        deadline = time.monotonic() + 30  # both sipp instances must listen; slow on a loaded machine
        while asyncio.run(options_udp("127.0.0.1", port, 0.3)) is None:
            assert time.monotonic() < deadline, "sipp did not answer over UDP"
        while asyncio.run(options_stream("127.0.0.1", port, 0.5, use_tls=False)) is None:
            assert time.monotonic() < deadline, "sipp did not answer over TCP"
            time.sleep(0.1)
        yield port
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=5)


@pytest.mark.peer
def test_options_over_udp_and_tcp_read_the_user_agent(rings: int) -> None:
    udp = asyncio.run(options_udp("127.0.0.1", rings, 1.0))
    tcp = asyncio.run(options_stream("127.0.0.1", rings, 1.0, use_tls=False))
    assert udp is not None and tcp is not None
    assert (udp.status, udp.user_agent, udp.transport) == (200, UA, "udp")
    assert (tcp.status, tcp.user_agent, tcp.transport) == (200, UA, "tcp")
    assert udp.to_tag is not None and udp.to_tag.isdigit()
    assert "OPTIONS" in (udp.allow or "")


@pytest.mark.peer
def test_ghost_invite_rings_and_is_cancelled(rings: int) -> None:
    answer = asyncio.run(ghost_invite("127.0.0.1", rings, 1.5))
    assert answer is not None and answer.status == 180


def test_silent_ports_give_none() -> None:
    port = free_udp_and_tcp_port()
    assert asyncio.run(options_udp("127.0.0.1", port, 0.3)) is None
    assert asyncio.run(options_stream("127.0.0.1", port, 0.3, use_tls=True)) is None
