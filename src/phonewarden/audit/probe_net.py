"""Management-port and TLS probes: TCP connect (no payload), one TFTP read request, TLS certificate facts."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from phonewarden.audit.probe_sip import insecure_tls_context

MANAGEMENT_PORTS = {22: "ssh", 23: "telnet", 80: "http", 443: "https", 7547: "cwmp"}
TFTP_PORT = 69


async def tcp_open(host: str, port: int, timeout: float) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


class _TftpReply(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.answered = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        # Any TFTP packet back (DATA 3 or ERROR 5) means a TFTP server listens.
        if len(data) >= 4 and data[1] in (3, 5) and not self.answered.done():
            self.answered.set_result(True)

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable
        if not self.answered.done():
            self.answered.set_result(False)


async def tftp_open(host: str, timeout: float) -> bool:
    """One read request for a file no phone has; an ERROR or DATA reply proves a TFTP server."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(_TftpReply, remote_addr=(host, TFTP_PORT))
    try:
        transport.sendto(b"\x00\x01phonewarden-audit-probe\x00octet\x00")
        return await asyncio.wait_for(protocol.answered, timeout)
    except TimeoutError:
        return False
    finally:
        transport.close()


@dataclass(frozen=True)
class TlsFacts:
    port: int
    version: str
    subject: str
    issuer: str
    self_signed: bool
    not_after: str
    expired: bool
    key: str  # e.g. "RSA-2048", "EC-256"
    signature_hash: str | None

    def problems(self) -> list[str]:
        found = []
        if self.expired:
            found.append(f"certificate expired {self.not_after}")
        if self.version in ("TLSv1", "TLSv1.1", "SSLv3"):
            found.append(f"old protocol {self.version}")
        if self.key.startswith("RSA-") and int(self.key[4:]) < 2048:
            found.append(f"weak key {self.key}")
        if self.signature_hash in ("md5", "sha1"):
            found.append(f"{self.signature_hash} signature")
        return found


async def tls_facts(host: str, port: int, timeout: float) -> TlsFacts | None:
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=insecure_tls_context(), server_hostname=None), timeout
        )
    except (OSError, TimeoutError, ssl.SSLError):
        return None
    try:
        tls = writer.get_extra_info("ssl_object")
        der = tls.getpeercert(binary_form=True) if tls is not None else None
        version = tls.version() if tls is not None else None
    finally:
        writer.close()
    if not der:
        return None
    return certificate_facts(der, port, version or "?", datetime.now(UTC))


def certificate_facts(der: bytes, port: int, version: str, now: datetime) -> TlsFacts:
    cert = x509.load_der_x509_certificate(der)
    public = cert.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        key = f"RSA-{public.key_size}"
    elif isinstance(public, ec.EllipticCurvePublicKey):
        key = f"EC-{public.curve.key_size}"
    else:
        key = type(public).__name__
    hash_algorithm = cert.signature_hash_algorithm
    return TlsFacts(
        port=port,
        version=version,
        subject=_name(cert.subject),
        issuer=_name(cert.issuer),
        self_signed=cert.subject == cert.issuer,
        not_after=cert.not_valid_after_utc.isoformat(),
        expired=cert.not_valid_after_utc < now,
        key=key,
        signature_hash=hash_algorithm.name if hash_algorithm is not None else None,
    )


def _name(name: x509.Name) -> str:
    common = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    organisation = name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    parts = [str(a.value) for a in (*common, *organisation)]
    return ", ".join(parts) or name.rfc4514_string()
