from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.wire.tls import (
    EXT_ECH,
    EXT_ESNI,
    looks_like_tls,
    parse_client_hello,
    tls_record_needs_more,
)
from tests.wire.appwire import DATA, load_pcapfile

OPENSSL = (DATA / "tls_openssl_clienthello.bin").read_bytes()
CURL = (DATA / "tls_curl_clienthello.bin").read_bytes()
TLS12 = (DATA / "tls_openssl_tls12_clienthello.bin").read_bytes()


def ext(ext_type: int, body: bytes) -> bytes:
    return struct.pack("!HH", ext_type, len(body)) + body


def sni_ext(*names: bytes) -> bytes:
    entries = b"".join(b"\x00" + struct.pack("!H", len(n)) + n for n in names)
    return ext(0, struct.pack("!H", len(entries)) + entries)


def alpn_ext(*protocols: bytes) -> bytes:
    entries = b"".join(bytes([len(p)]) + p for p in protocols)
    return ext(16, struct.pack("!H", len(entries)) + entries)


def hello_body(extensions: bytes | None, suites: int = 3, version: int = 0x0303) -> bytes:
    body = struct.pack("!H", version) + bytes(32) + b"\x20" + bytes(32)
    body += struct.pack("!H", 2 * suites) + b"\x13\x01" * suites + b"\x01\x00"
    if extensions is not None:
        body += struct.pack("!H", len(extensions)) + extensions
    return body


def handshake(body: bytes, msg_type: int = 1) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def records(hs: bytes, size: int = 16384, version: int = 0x0301) -> bytes:
    return b"".join(
        b"\x16" + struct.pack("!HH", version, len(hs[i : i + size])) + hs[i : i + size]
        for i in range(0, len(hs), size)
    )


def unwrap(stream: bytes) -> bytes:
    """Handshake bytes of a one-record capture, to re-record them differently."""
    return stream[5 : 5 + int.from_bytes(stream[3:5], "big")]


def test_openssl_client_hello() -> None:
    hello = parse_client_hello(OPENSSL)
    assert hello is not None
    assert hello.sni == "phone.example.test"
    assert hello.alpn == ("h2", "http/1.1")
    assert hello.supported_versions[0] == 0x0304
    assert (hello.record_version, hello.client_version) == (0x0301, 0x0303)
    assert not hello.has_ech and not hello.has_esni
    assert hello.cipher_suite_count > 10
    assert hello.extensions[0] == 0 and 43 in hello.extensions
    assert hello.anomalies == ()
    assert not tls_record_needs_more(OPENSSL)


def test_curl_client_hello_json() -> None:
    hello = parse_client_hello(CURL)
    assert hello is not None
    doc = hello.to_json()
    assert doc["sni"] == "phone.example.test"
    assert doc["record_version"] == "TLS1.0" and doc["client_version"] == "TLS1.2"
    assert doc["supported_versions"][:2] == ["TLS1.3", "TLS1.2"]
    assert doc["alpn"] == ["h2", "http/1.1"]
    assert doc["anomalies"] == []


def test_tls12_only_hello_has_no_supported_versions() -> None:
    hello = parse_client_hello(TLS12)
    assert hello is not None
    assert hello.sni == "legacy.example.test"
    assert hello.supported_versions == () and hello.alpn == ()


@pytest.mark.parametrize("size", [1, 7, 100, 200])
def test_handshake_spanning_records(size: int) -> None:
    stream = records(unwrap(OPENSSL), size=size)
    assert parse_client_hello(stream) == parse_client_hello(OPENSSL)


def test_every_prefix_is_truncated_or_unknown_and_needs_more() -> None:
    stream = records(unwrap(CURL), size=150)
    for cut in range(len(stream)):
        prefix = stream[:cut]
        assert tls_record_needs_more(prefix), cut
        hello = parse_client_hello(prefix)
        assert hello is None or hello.anomalies == ("truncated",), cut
        assert hello is None or hello.sni in (None, "phone.example.test"), cut  # never a cut-off name
    assert not tls_record_needs_more(stream)


def test_sni_recovered_from_partial_hello() -> None:
    hs = unwrap(OPENSSL)
    first_ext_end = hs.index(b"phone.example.test") + len("phone.example.test")
    hello = parse_client_hello(records(hs)[: 5 + first_ext_end + 3])
    assert hello is not None and hello.sni == "phone.example.test"
    assert hello.anomalies == ("truncated",)


def test_ech_esni_and_duplicates() -> None:
    extensions = (
        ext(0x0A0A, b"")  # GREASE
        + sni_ext(b"public.example")
        + ext(EXT_ECH, b"\x00" * 8)
        + ext(EXT_ESNI, b"\x01")
        + alpn_ext(b"h3")
        + alpn_ext(b"h2")
        + ext(43, b"\x04\x7a\x7a\x03\x04")
    )
    hello = parse_client_hello(records(handshake(hello_body(extensions, suites=5))))
    assert hello is not None
    assert hello.has_ech and hello.has_esni
    assert hello.sni == "public.example"
    assert hello.alpn == ("h3", "h2")
    assert hello.supported_versions == (0x7A7A, 0x0304)
    assert hello.to_json()["supported_versions"] == ["0x7a7a", "TLS1.3"]
    assert hello.cipher_suite_count == 5
    assert hello.extensions == (0x0A0A, 0, EXT_ECH, EXT_ESNI, 16, 16, 43)
    assert hello.anomalies == ("duplicate-extension",)


def test_hello_without_extensions() -> None:
    hello = parse_client_hello(records(handshake(hello_body(None)), version=0x0300))
    assert hello is not None
    assert (hello.sni, hello.extensions, hello.anomalies, hello.record_version) == (None, (), (), 0x0300)


def test_lying_lengths_are_flagged() -> None:
    bad_sni = ext(0, b"\x00\x10\x00\x00\x05ab")  # host_name claims 5 bytes, has 2
    hello = parse_client_hello(records(handshake(hello_body(bad_sni))))
    assert hello is not None
    assert hello.sni is None and "bad-sni" in hello.anomalies
    overrun = struct.pack("!HH", 16, 50) + b"\x00"  # extension longer than the block
    hello = parse_client_hello(records(handshake(hello_body(overrun))))
    assert hello is not None and "bad-extensions" in hello.anomalies
    short_body = handshake(hello_body(None)[:20])
    hello = parse_client_hello(records(short_body))
    assert hello is not None and hello.anomalies == ("malformed",)


def test_non_ascii_sni_is_escaped() -> None:
    hello = parse_client_hello(records(handshake(hello_body(sni_ext(b"caf\xc3\xa9.test")))))
    assert hello is not None
    assert hello.sni == "caf\\xc3\\xa9.test" and hello.anomalies == ("bad-sni",)


def test_not_a_client_hello() -> None:
    server_hello = records(handshake(hello_body(b""), msg_type=2))
    assert parse_client_hello(server_hello) is None
    assert not tls_record_needs_more(server_hello)
    for data in (b"GET / HTTP/1.1\r\n\r\n", b"\x17\x03\x03\x00\x05hello", b"\x16\x03\x05\x00\x00", b"\x15"):
        assert parse_client_hello(data) is None
        assert not tls_record_needs_more(data)
    assert parse_client_hello(b"\x16\x03\x01\x00\x04\x01\x00") is None  # length not yet known
    assert (
        tls_record_needs_more(b"\x16") and tls_record_needs_more(b"") and tls_record_needs_more(b"\x16\x03")
    )


def test_partial_hello_header_gives_truncated_record() -> None:
    hello = parse_client_hello(b"\x16\x03\x01\x00\x04\x01\x00\x01\x00")
    assert hello is not None and hello.anomalies == ("truncated",) and hello.sni is None


def test_oversized_hello_is_not_buffered_forever() -> None:
    stream = b"\x16\x03\x01\x00\x04\x01\x10\x00\x00"  # claims a 1 MiB ClientHello
    assert not tls_record_needs_more(stream)


def test_interleaved_record_stops_gathering() -> None:
    hs = unwrap(OPENSSL)
    stream = records(hs[:50]) + b"\x15\x03\x03\x00\x02\x02\x28" + records(hs[50:])
    hello = parse_client_hello(stream)
    assert hello is not None and set(hello.anomalies) == {"interleaved-record", "truncated"}
    assert not tls_record_needs_more(stream)


def test_looks_like_tls() -> None:
    assert looks_like_tls(OPENSSL) and looks_like_tls(b"\x16\x03\x04")
    assert not looks_like_tls(b"\x16\x03") and not looks_like_tls(b"\x16\x03\x05")
    assert not looks_like_tls(b"\x17\x03\x03") and not looks_like_tls(b"POST / HTTP/1.1")


@pytest.mark.peer
def test_tshark_agrees_on_sni_and_alpn(tmp_path: Path) -> None:
    tshark = shutil.which("tshark")
    assert tshark, "tshark is required for peer tests"
    pcap = load_pcapfile()
    path = tmp_path / "tls.pcap"
    pcap.write_pcap(path, [pcap.ipv4_frame("198.51.100.2", 40001, "203.0.113.1", 443, CURL, tcp=True)])
    result = subprocess.run(
        [tshark, "-r", str(path), "-T", "fields", "-E", "separator=|",
         "-e", "tls.handshake.extensions_server_name", "-e", "tls.handshake.extensions_alpn_str",
         "-e", "tls.handshake.extensions.supported_version"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    sni, alpn, versions = result.stdout.strip().split("|")
    hello = parse_client_hello(CURL)
    assert hello is not None
    assert (sni, alpn.split(",")) == (hello.sni, list(hello.alpn))
    assert [int(v, 16) for v in versions.split(",")] == list(hello.supported_versions)


# Fuzzing: no input may raise, and incomplete input is either unknown or flagged truncated.

VALID = [OPENSSL, CURL, TLS12, records(unwrap(CURL), size=100)]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(data) - 1))
        if draw(st.booleans()):
            data[pos] = draw(st.integers(0, 255))
        else:
            data[pos : pos + draw(st.integers(1, 3))] = draw(st.binary(max_size=3))
    return bytes(data[: draw(st.integers(0, len(data)))])


def check(data: bytes) -> None:
    hello = parse_client_hello(data)
    needs_more = tls_record_needs_more(data)
    if hello is not None:
        hello.to_json()
        if needs_more:
            assert "truncated" in hello.anomalies


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_random_bytes(data: bytes) -> None:
    check(data)
    check(b"\x16\x03\x01" + data)


@settings(max_examples=300, deadline=None)
@given(mutated())
def test_fuzz_mutated_hellos(data: bytes) -> None:
    check(data)
