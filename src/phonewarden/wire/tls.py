"""TLS ClientHello decoder: what a client names before encryption starts (SNI, ALPN, ECH use).

Input is the start of one TCP direction. The handshake message may span several TLS records, and the
caller may hold only part of it: `tls_record_needs_more` says whether buffering more can help.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CONTENT_HANDSHAKE = 0x16
HANDSHAKE_CLIENT_HELLO = 1
MAX_RECORD_LEN = 2**14 + 2048  # RFC 8446 5.2 bound for any record; beyond it this is not TLS
MAX_CLIENT_HELLO = 2**16  # real ones (even with post-quantum key shares) are a few KiB

EXT_SERVER_NAME = 0x0000
EXT_ALPN = 0x0010
EXT_SUPPORTED_VERSIONS = 0x002B
EXT_ECH = 0xFE0D  # encrypted_client_hello (RFC 9849)
EXT_ESNI = 0xFFCE  # draft encrypted_server_name, superseded by ECH

VERSION_NAMES = {0x0300: "SSL3.0", 0x0301: "TLS1.0", 0x0302: "TLS1.1", 0x0303: "TLS1.2", 0x0304: "TLS1.3"}


def version_name(version: int) -> str:
    return VERSION_NAMES.get(version, f"0x{version:04x}")


@dataclass(slots=True, frozen=True)
class ClientHello:
    record_version: int
    client_version: int
    sni: str | None
    alpn: tuple[str, ...]
    supported_versions: tuple[int, ...]
    has_ech: bool
    has_esni: bool
    cipher_suite_count: int
    extensions: tuple[int, ...]
    anomalies: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "record_version": version_name(self.record_version),
            "client_version": version_name(self.client_version),
            "sni": self.sni,
            "alpn": list(self.alpn),
            "supported_versions": [version_name(v) for v in self.supported_versions],
            "has_ech": self.has_ech,
            "has_esni": self.has_esni,
            "cipher_suite_count": self.cipher_suite_count,
            "extensions": list(self.extensions),
            "anomalies": list(self.anomalies),
        }


def looks_like_tls(data: bytes) -> bool:
    """A TLS handshake record header: content type 22, version 3.0 to 3.4."""
    return len(data) >= 3 and data[0] == CONTENT_HANDSHAKE and data[1] == 3 and data[2] <= 4


def _gather_handshake(data: bytes) -> tuple[bytes, bool, list[str]] | None:
    """Concatenate handshake-record fragments from the front of `data`.

    Returns (handshake bytes, complete, anomalies), or None when `data` is not a TLS handshake stream
    (or a prefix of one). `complete` means the first handshake message is entirely present.
    """
    if len(data) < 3 and data != b"\x16\x03"[: len(data)]:
        return None
    if len(data) >= 3 and not looks_like_tls(data):
        return None
    anomalies: list[str] = []
    fragments = bytearray()
    pos = 0
    while pos + 5 <= len(data):
        content_type, length = data[pos], int.from_bytes(data[pos + 3 : pos + 5], "big")
        if content_type != CONTENT_HANDSHAKE or data[pos + 1] != 3 or length > MAX_RECORD_LEN:
            if pos == 0:
                return None
            anomalies.append("interleaved-record")  # handshake interrupted before the hello ended
            break
        if length == 0:
            anomalies.append("empty-record")
        fragments += data[pos + 5 : pos + 5 + length]
        pos += 5 + length
        if _handshake_complete(fragments):
            return bytes(fragments), True, anomalies
    return bytes(fragments), _handshake_complete(fragments), anomalies


def _handshake_complete(fragments: bytes | bytearray) -> bool:
    return len(fragments) >= 4 and len(fragments) >= 4 + int.from_bytes(fragments[1:4], "big")


def tls_record_needs_more(data: bytes) -> bool:
    """True when `data` is an incomplete but so far valid start of a TLS ClientHello."""
    gathered = _gather_handshake(data)
    if gathered is None:
        return False
    handshake, complete, anomalies = gathered
    if complete or "interleaved-record" in anomalies:
        return False
    if len(handshake) >= 4:
        if handshake[0] != HANDSHAKE_CLIENT_HELLO:
            return False
        if int.from_bytes(handshake[1:4], "big") > MAX_CLIENT_HELLO:
            return False  # refuse to let a peer make the caller buffer without bound
    return True


class _Reader:
    """Bounds-checked cursor: a read past the end returns what is there and sets `short`."""

    __slots__ = ("buf", "pos", "short")

    def __init__(self, buf: bytes) -> None:
        self.buf, self.pos, self.short = buf, 0, False

    def take(self, count: int) -> bytes:
        if self.pos + count > len(self.buf):
            self.short = True
        chunk = self.buf[self.pos : self.pos + count]
        self.pos += len(chunk)
        return chunk

    def uint(self, size: int) -> int:
        raw = self.take(size)
        return int.from_bytes(raw, "big") if len(raw) == size else 0

    def vector(self, length_size: int) -> bytes:
        return self.take(self.uint(length_size))

    def remaining(self) -> int:
        return len(self.buf) - self.pos


def parse_client_hello(data: bytes) -> ClientHello | None:
    """Decode the ClientHello at the start of a TLS stream.

    None when this is not one; a ClientHello flagged "truncated" (with whatever fields were present)
    when it is incomplete.
    """
    gathered = _gather_handshake(data)
    if gathered is None:
        return None
    handshake, complete, anomalies = gathered
    if len(handshake) < 4 or handshake[0] != HANDSHAKE_CLIENT_HELLO:
        return None
    body_len = int.from_bytes(handshake[1:4], "big")
    body = _Reader(handshake[4 : 4 + body_len])
    if not complete:
        anomalies.append("truncated")
    client_version = body.uint(2)
    body.take(32)  # random
    if len(body.vector(1)) > 32:
        anomalies.append("long-session-id")
    suites = body.vector(2)
    if len(suites) % 2 and not body.short:
        anomalies.append("odd-cipher-suites")
    body.vector(1)  # compression methods
    fields = _Extensions()
    if body.remaining() > 0:  # extensions are optional before TLS 1.2
        fields.parse(_Reader(body.vector(2)), anomalies)
    if body.short and complete:
        anomalies.append("malformed")
    elif body.remaining() > 0 or (fields.short and complete):
        anomalies.append("bad-extensions")
    return ClientHello(
        record_version=int.from_bytes(data[1:3], "big"),
        client_version=client_version,
        sni=fields.sni,
        alpn=tuple(fields.alpn),
        supported_versions=tuple(fields.versions),
        has_ech=EXT_ECH in fields.ids,
        has_esni=EXT_ESNI in fields.ids,
        cipher_suite_count=len(suites) // 2,
        extensions=tuple(fields.ids),
        anomalies=tuple(dict.fromkeys(anomalies)),
    )


class _Extensions:
    __slots__ = ("alpn", "ids", "short", "sni", "versions")

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.sni: str | None = None
        self.alpn: list[str] = []
        self.versions: list[int] = []
        self.short = False  # an extension ran past the end: a partial hello, or a lying length

    def parse(self, reader: _Reader, anomalies: list[str]) -> None:
        while reader.remaining() >= 4:
            ext_type = reader.uint(2)
            ext = _Reader(reader.vector(2))
            if ext_type in self.ids:
                anomalies.append("duplicate-extension")
            self.ids.append(ext_type)
            if reader.short:  # never report a cut-off SNI or ALPN as if it were whole
                self.short = True
                return
            if ext_type == EXT_SERVER_NAME:
                self._server_name(ext, anomalies)
            elif ext_type == EXT_ALPN:
                self._alpn(ext, anomalies)
            elif ext_type == EXT_SUPPORTED_VERSIONS:
                versions = ext.vector(1)
                self.versions += [versions[i] << 8 | versions[i + 1] for i in range(0, len(versions) - 1, 2)]
                if ext.short or len(versions) % 2:
                    anomalies.append("bad-supported-versions")
        self.short = self.short or reader.remaining() > 0

    def _server_name(self, ext: _Reader, anomalies: list[str]) -> None:
        names = _Reader(ext.vector(2))
        while names.remaining() > 0:
            name_type, name = names.uint(1), names.vector(2)
            if names.short or ext.short:
                anomalies.append("bad-sni")
                return
            if name_type != 0 or self.sni is not None:
                continue  # only the first host_name counts, as servers do
            if not name.isascii() or not name:
                anomalies.append("bad-sni")
            self.sni = name.decode("ascii", "backslashreplace")

    def _alpn(self, ext: _Reader, anomalies: list[str]) -> None:
        protocols = _Reader(ext.vector(2))
        while protocols.remaining() > 0:
            protocol = protocols.vector(1)
            if protocols.short or ext.short:
                anomalies.append("bad-alpn")
                return
            self.alpn.append(protocol.decode("ascii", "backslashreplace"))
