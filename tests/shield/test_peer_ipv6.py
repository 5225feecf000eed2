"""IPv6 end to end: an enumerator in one /64 is banned by its /64 in nftables; a phone in another /64 still
registers. Namespaces with documentation addresses (2001:db8::/32) only; the registrar is a small SIP
responder in the server namespace that feeds what it receives and answers to the live shield."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from phonewarden.core.records import Segment
from phonewarden.shield.enforce_nft import NftEnforcer
from phonewarden.shield.live import LiveShield
from phonewarden.shield.service import ShieldService
from phonewarden.shield.settings import ShieldSettings
from phonewarden.wire.sip import parse_sip
from phonewarden.wire.traffic import NetworkRecord
from tests.shield.netns import NetLab, require_tool

HOSTS = {
    "srv": ["2001:db8:51::10/64", "2001:db8:66::10/64"],
    "atk": ["2001:db8:66::66/64", "2001:db8:66::67/64"],
    "phone": ["2001:db8:51::20/64"],
}
KNOWN_USER = "phone"


def register(user: str, host: str, n: int) -> bytes:
    return (
        "REGISTER sip:pbx.example.test SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP [{host}]:5060;branch=z9hG4bK{n}x{user}\r\n"
        f"From: <sip:{user}@pbx.example.test>;tag=t{n}\r\nTo: <sip:{user}@pbx.example.test>\r\n"
        f"Call-ID: {n}-{user}@{host}\r\nCSeq: 1 REGISTER\r\nContact: <sip:{user}@[{host}]:5060>\r\n"
        "User-Agent: Yealink SIP-T46S 66.86.0.15\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()


class Registrar:
    """Answers REGISTER for KNOWN_USER with 200, anything else with 404; feeds both to the shield."""

    def __init__(self, lab: NetLab, shield: LiveShield) -> None:
        self.shield = shield
        self.sock = lab.socket("srv", socket.AF_INET6)
        self.sock.bind(("::", 5060))
        self.sock.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            request = parse_sip(data)
            local = self.sock.getsockname()[0]
            self._feed(Segment(time.time(), "udp", peer[0], peer[1], local, 5060, data), request)
            status = "200 OK" if request.to_user == KNOWN_USER else "404 Not Found"
            lines = [f"SIP/2.0 {status}"] + [
                f"{name}: {request.header(name)}" for name in ("via", "from", "to", "call-id", "cseq")
            ]
            if status.startswith("200"):
                lines.append(f"Contact: {request.header('contact')};expires=3600")
            answer = ("\r\n".join([*lines, "Content-Length: 0"]) + "\r\n\r\n").encode()
            self._feed(Segment(time.time(), "udp", local, 5060, peer[0], peer[1], answer), parse_sip(answer))
            self.sock.sendto(answer, peer)

    def _feed(self, segment: Segment, message: object) -> None:
        self.shield.on_record(NetworkRecord("sip", segment, message))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


def ask(lab: NetLab, host: str, source: str, user: str, n: int, server: str) -> str | None:
    """Send one REGISTER from `source` (two tries: neighbour discovery); the status line or None."""
    sock = lab.socket(host, socket.AF_INET6)
    with sock:
        sock.bind((source, 0))
        sock.settimeout(0.4)
        for attempt in range(2):
            sock.sendto(register(user, source, n * 10 + attempt), (server, 5060))
            try:
                return sock.recv(4096).split(b"\r\n", 1)[0].decode()
            except TimeoutError:
                continue
    return None


@pytest.fixture
def lab() -> Iterator[tuple[NetLab, LiveShield, NftEnforcer]]:
    require_tool("nft")
    with NetLab(HOSTS, tag=f"pw{os.getpid()}6") as made:
        enforcer = NftEnforcer(table=f"pw6x{os.getpid()}", netns=made.ns("srv"))
        shield = LiveShield(ShieldService(ShieldSettings(), enforcers=[enforcer]), engine=None)
        assert shield.started.wait(10), "the shield's enforcer did not start"
        registrar = Registrar(made, shield)
        try:
            yield made, shield, enforcer
        finally:
            registrar.close()
            asyncio.run(shield.stop())  # the table stays; the namespace goes with it


@pytest.mark.peer
def test_an_ipv6_enumerator_is_banned_by_its_slash_64_and_a_phone_in_another_still_registers(
    lab: tuple[NetLab, LiveShield, NftEnforcer],
) -> None:
    netlab, shield, enforcer = lab
    assert ask(netlab, "phone", "2001:db8:51::20", KNOWN_USER, 1, "2001:db8:51::10") == "SIP/2.0 200 OK"
    answers = [ask(netlab, "atk", "2001:db8:66::66", str(100 + n), n, "2001:db8:66::10") for n in range(12)]
    assert answers[0] == "SIP/2.0 404 Not Found", "lab network does not pass IPv6 SIP"
    deadline = time.monotonic() + 10
    while "2001:db8:66::/64" not in enforcer.active() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "2001:db8:66::/64" in enforcer.active(), f"not banned; shield saw {shield.service.summary()}"
    assert [d.source for d in shield.applied] == ["2001:db8:66::/64"]
    # another address of the same /64 is dropped in the server's kernel; the phone's /64 is not
    assert ask(netlab, "atk", "2001:db8:66::67", "200", 99, "2001:db8:66::10") is None
    assert ask(netlab, "phone", "2001:db8:51::20", KNOWN_USER, 2, "2001:db8:51::10") == "SIP/2.0 200 OK"
