"""A throw-away lab of network namespaces joined by one bridge, for tests that need real packets.

Namespaces are named `pw<pid>-<host>` (plus `pw<pid>-lan` holding the bridge), so suites running at the same
time never collide, and the root namespace is not touched at all. Addresses come from the documentation ranges
(198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) and only exist inside the lab. `close()` always removes
every namespace and ends every process the lab started.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

CLONE_NEWNET = 0x40000000
T = TypeVar("T")
PACKAGES = {
    "ip": "iproute2",
    "nft": "nftables",
    "kamailio": "kamailio",
    "sipp": "sip-tester",
    "tshark": "tshark",
}


def require_tool(tool: str) -> str:
    """Path of a peer tool; a missing one fails the test and says which package brings it."""
    path = shutil.which(tool) or (
        shutil.which(tool, path=".venv/bin") if tool.startswith("sipvicious") else None
    )
    package = PACKAGES.get(tool, "sipvicious (pip, in .venv)" if tool.startswith("sipvicious") else tool)
    assert path, f"{tool} not found: install the package {package} (scripts/install-debs.sh / `make debs`)"
    return path


class NetLab:
    def __init__(self, hosts: Mapping[str, Sequence[str]], tag: str | None = None) -> None:
        """`hosts`: host name -> addresses with prefix length, e.g. {"srv": ["198.51.100.10/24"]}."""
        self.tag = tag or f"pw{os.getpid()}"
        self.hosts = {name: list(addresses) for name, addresses in hosts.items()}
        self.processes: list[subprocess.Popen[Any]] = []
        self._created: list[str] = []

    def ns(self, host: str) -> str:
        return f"{self.tag}-{host}"

    def address(self, host: str, version: int = 4) -> str:
        """The first address of `host` of that IP version, without prefix length."""
        for address in self.hosts[host]:
            plain = address.split("/")[0]
            if (":" in plain) == (version == 6):
                return plain
        raise KeyError(f"host {host} has no IPv{version} address")

    # -- life cycle -------------------------------------------------------------------------------
    def __enter__(self) -> NetLab:
        try:
            self.create()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ip(self, *args: str) -> None:
        done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")

    def create(self) -> None:
        require_tool("ip")
        lan = self.ns("lan")
        self._add_ns(lan)
        self._ip("-n", lan, "link", "add", "br0", "type", "bridge")
        self._ip("-n", lan, "link", "set", "br0", "up")
        for index, (host, addresses) in enumerate(self.hosts.items()):
            ns, port = self.ns(host), f"p{index}"
            self._add_ns(ns)
            self._ip("-n", lan, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
            self._ip("-n", lan, "link", "set", port, "master", "br0", "up")
            self._ip("-n", ns, "link", "set", "lo", "up")
            for address in addresses:
                extra = ["nodad"] if ":" in address else []
                self._ip("-n", ns, "addr", "add", address, "dev", "eth0", *extra)
            self._ip("-n", ns, "link", "set", "eth0", "up")

    def _add_ns(self, ns: str) -> None:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10, check=False)  # stale
        self._ip("netns", "add", ns)
        self._created.append(ns)

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 5
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self.processes.clear()
        for ns in reversed(self._created):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10, check=False)
        self._created.clear()

    # -- running things inside --------------------------------------------------------------------
    def argv(self, host: str, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.ns(host), *argv]

    def run(
        self,
        host: str,
        argv: Sequence[str],
        timeout: float = 30,
        check: bool = True,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            self.argv(host, argv), input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"in {self.ns(host)}: {' '.join(argv)} exited {done.returncode}:\n{done.stderr[-3000:]}"
            )
        return done

    def popen(self, host: str, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        kwargs.setdefault("stderr", subprocess.PIPE)
        process = subprocess.Popen(self.argv(host, argv), **kwargs)
        self.processes.append(process)
        return process

    def call_in(self, host: str, action: Callable[[], T]) -> T:
        """Run `action` in a short-lived thread that has entered `host`'s namespace; sockets it makes stay
        there (a socket keeps the namespace it was created in)."""
        made: list[T] = []
        failed: list[BaseException] = []

        def enter_and_call() -> None:
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                with open(f"/run/netns/{self.ns(host)}", "rb") as handle:
                    if libc.setns(handle.fileno(), CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), f"setns into {self.ns(host)}")
                made.append(action())
            except BaseException as error:
                failed.append(error)

        worker = threading.Thread(target=enter_and_call)
        worker.start()
        worker.join()
        if failed:
            raise failed[0]
        return made[0]

    def socket(self, host: str, family: int = socket.AF_INET, kind: int = socket.SOCK_DGRAM) -> socket.socket:
        """A socket living in `host`'s namespace."""
        return self.call_in(host, lambda: socket.socket(family, kind))


class UdpEcho:
    """A UDP echo server on port `port` of one lab host, dual stack, in a background thread."""

    def __init__(self, lab: NetLab, host: str, port: int = 5060) -> None:
        self.sock = lab.socket(host, socket.AF_INET6)
        self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        self.sock.bind(("::", port))
        self.sock.settimeout(0.1)
        self.received: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(2048)
            except TimeoutError:
                continue
            self.received.append(peer[0].removeprefix("::ffff:"))
            self.sock.sendto(data, peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


def answered(
    sock: socket.socket, server: tuple[str, int], payload: bytes = b"ping", wait_s: float = 0.3
) -> bool:
    """Send one datagram from `sock` and report whether the echo came back within `wait_s`."""
    sock.settimeout(wait_s)
    sock.sendto(payload, server)
    try:
        while True:
            data, _ = sock.recvfrom(2048)
            if data == payload:
                return True
    except TimeoutError:
        return False


@contextmanager
def lab(hosts: Mapping[str, Sequence[str]]) -> Iterator[NetLab]:
    with NetLab(hosts) as made:
        yield made
