from __future__ import annotations

import asyncio
import os
import ssl
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from phonewarden.audit.probe_net import TlsFacts, certificate_facts, tcp_open, tftp_open, tls_facts
from tests.audit.phones import make_certificate
from tests.conftest import free_port


def _der(directory: Path) -> bytes:
    cert = x509.load_pem_x509_certificate((directory / "cert.pem").read_bytes())
    return cert.public_bytes(serialization.Encoding.DER)


def test_certificate_facts_find_expired_and_weak(tmp_path: Path) -> None:
    make_certificate(tmp_path, "Yealink T46S", days=-5, key_size=1024)
    facts = certificate_facts(_der(tmp_path), 443, "TLSv1.2", datetime.now(UTC))
    assert facts.subject.startswith("Yealink T46S") and facts.self_signed and facts.expired
    assert facts.key == "RSA-1024" and facts.signature_hash == "sha256"
    assert any("expired" in p for p in facts.problems()) and "weak key RSA-1024" in facts.problems()


def test_tls_facts_over_a_real_handshake(tmp_path: Path) -> None:
    make_certificate(tmp_path, "snom D785", days=30)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")

    async def run() -> tuple[object, bool, bool]:
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0, ssl=context)
        port = server.sockets[0].getsockname()[1]
        async with server:
            facts = await tls_facts("127.0.0.1", port, 2.0)
            is_open = await tcp_open("127.0.0.1", port, 1.0)
        return facts, is_open, await tcp_open("127.0.0.1", free_port(), 1.0)

    facts, is_open, closed = asyncio.run(run())
    assert isinstance(facts, TlsFacts) and facts.version.startswith("TLSv1.")
    assert not facts.expired and facts.problems() == []
    assert is_open and not closed


def test_tftp_answer_and_silence() -> None:
    # A loopback address of our own (port 69 is fixed): suites running at once must not collide.
    pid = os.getpid()
    answering, silent = (f"127.{100 + pid % 100}.{(pid // 100) % 250}.{last}" for last in (2, 3))

    class Tftp(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            if data.startswith(b"\x00\x01phonewarden"):  # RRQ -> ERROR 1 file not found
                self.transport.sendto(b"\x00\x05\x00\x01File not found\x00", addr)  # type: ignore[attr-defined]

    async def run() -> bool:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(Tftp, local_addr=(answering, 69))
        try:
            return await tftp_open(answering, 1.0)
        finally:
            transport.close()

    assert asyncio.run(run()) is True
    assert asyncio.run(tftp_open(silent, 0.3)) is False
