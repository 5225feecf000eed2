"""Peers for the shield's detection tests: a Kamailio registrar mirroring HEP to a collector we own,
sipp phones and SIPVicious attackers, each on a 127.0.0.x address of its own. Missing tools fail with the
package that installs them; every process runs under a timeout and is stopped by pid."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

TOOLS = REPO / "tools" / "shield"
VENV_BIN = REPO / ".venv" / "bin"
PACKAGES = {"kamailio": "Debian package kamailio", "sipp": "Debian package sip-tester"}


def require(tool: str) -> str:
    if tool.startswith("sipvicious_"):
        path = VENV_BIN / tool
        if not path.exists():
            pytest.fail(f"{tool} missing: pip install sipvicious into .venv (make test does)")
        return str(path)
    found = shutil.which(tool)
    if found is None:
        pytest.fail(f"{tool} is not installed: apt-get install {PACKAGES[tool].split()[-1]}")
    return found


@dataclass
class HepCollector:
    """Receives Kamailio's HEP datagrams on 127.0.0.1 and keeps them in arrival order."""

    sock: socket.socket = field(default_factory=lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    datagrams: list[tuple[bytes, str]] = field(default_factory=list)
    running: bool = True

    def __post_init__(self) -> None:
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def _run(self) -> None:
        while self.running:
            try:
                data, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            self.datagrams.append((data, peer[0]))

    def close(self) -> None:
        self.running = False
        self.thread.join(2)
        self.sock.close()


def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _answers(server: tuple[str, int], n: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.3)
        port = sock.getsockname()[1]
        sock.sendto(
            (
                f"OPTIONS sip:pbx.example.test SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKr{n}\r\n"
                f"From: <sip:ready@pbx.example.test>;tag=r{n}\r\nTo: <sip:pbx.example.test>\r\n"
                f"Call-ID: ready-{n}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            ).encode(),
            server,
        )
        try:
            return b"ready-" in sock.recv(4096)
        except TimeoutError:
            return False


@contextmanager
def registrar(workdir: Path, hep_port: int) -> Iterator[tuple[str, int]]:
    """Kamailio on 127.0.0.1:<free port>, mirroring every message as HEP to `hep_port`."""
    binary = require("kamailio")
    server = ("127.0.0.1", free_udp_port())
    argv = [
        binary, "-DD", "-E", "-f", str(TOOLS / "detect-registrar.cfg"), "-Y", str(workdir),
        "-P", str(workdir / "kamailio.pid"), "-l", f"udp:{server[0]}:{server[1]}",
        "-A", f'HEP_URI="sip:127.0.0.1:{hep_port}"',
    ]  # fmt: skip
    log_path = workdir / "kamailio.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        for attempt in range(40):
            if process.poll() is not None:
                pytest.fail(f"kamailio exited {process.returncode}:\n{log_path.read_text()[-3000:]}")
            if _answers(server, attempt):
                break
        else:
            pytest.fail(f"kamailio did not answer at {server}:\n{log_path.read_text()[-3000:]}")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def run(argv: list[str], cwd: Path, timeout: float = 40) -> subprocess.CompletedProcess[bytes]:
    """One bounded peer run; its output is kept for the failure message."""
    return subprocess.run(argv, cwd=cwd, capture_output=True, timeout=timeout, check=False)


def sipp_register(
    server: tuple[str, int], local_ip: str, users: list[tuple[str, str]], user_agent: str, rate: float,
    workdir: Path,
) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
    csv = workdir / f"users-{local_ip}.csv"
    lines = (f"{user};[authentication username={user} password={password}]\n" for user, password in users)
    csv.write_text("SEQUENTIAL\n" + "".join(lines))
    argv = [
        require("sipp"), f"{server[0]}:{server[1]}", "-sf", str(TOOLS / "detect-register.xml"),
        "-inf", str(csv), "-key", "ua", user_agent, "-i", local_ip, "-p", str(free_udp_port(local_ip)),
        "-m", str(len(users)), "-r", str(rate), "-rp", "1000", "-l", str(len(users)),
        "-nostdin", "-timeout", "20s", "-timeout_error",
    ]  # fmt: skip
    return run(argv, workdir)


def sipp_options(server: tuple[str, int], local_ip: str, count: int, workdir: Path) -> Any:
    argv = [
        require("sipp"), f"{server[0]}:{server[1]}", "-sf", str(REPO / "tools" / "captures" / "options.xml"),
        "-i", local_ip, "-p", str(free_udp_port(local_ip)), "-m", str(count), "-r", "5", "-nostdin",
        "-timeout", "20s",
    ]  # fmt: skip
    return run(argv, workdir)


def sipvicious(tool: str, local_ip: str, server: tuple[str, int], *args: str, workdir: Path) -> Any:
    require(f"sipvicious_{tool}")
    python = str(VENV_BIN / "python")
    argv = [python, str(TOOLS / "sv_bound.py"), tool, local_ip, "-p", str(server[1]), *args, server[0]]
    started = time.monotonic()
    result = run(argv, workdir)
    result.elapsed = time.monotonic() - started  # type: ignore[attr-defined]
    return result
