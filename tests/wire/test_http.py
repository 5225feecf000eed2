from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.wire.http import (
    HttpRequest,
    HttpRequestFramer,
    HttpResponseFramer,
    body_preview,
    looks_like_http_request,
)
from tests.wire.appwire import DATA, load_pcapfile

POST = (DATA / "http_curl_post.bin").read_bytes()
CHUNKED = (DATA / "http_curl_chunked.bin").read_bytes()
LEAK_BODY = (DATA / "http_leak_body.txt").read_bytes()
RESPONSES = (DATA / "http_server_responses.bin").read_bytes()


def frame(data: bytes, step: int = 0, **limits: int) -> tuple[list[HttpRequest], HttpRequestFramer]:
    framer = HttpRequestFramer(**limits)
    out: list[HttpRequest] = []
    for pos in range(0, len(data), step or max(len(data), 1)):
        out += framer.feed(data[pos : pos + (step or len(data))])
    return out, framer


def test_curl_post_with_leaky_body() -> None:
    [request], framer = frame(POST)
    assert (request.method, request.target, request.version) == ("POST", "/", "HTTP/1.1")
    assert request.host is not None and request.host.startswith("zzhc.example.test:")
    assert ("content-type", "application/encrypted-json") in request.headers
    assert request.body == LEAK_BODY and request.body_length == len(LEAK_BODY) == 272
    assert request.anomalies == () and not framer.anomalies
    doc = request.to_json()
    assert doc["body_length"] == 272 and "body" not in doc
    assert doc["body_preview"] == LEAK_BODY[:200].decode()
    assert [name for name, _ in request.headers] == [
        "host",
        "user-agent",
        "accept",
        "content-type",
        "content-length",
    ]


def test_curl_chunked_upload_is_dechunked() -> None:
    [request], _ = frame(CHUNKED)
    assert request.target == "/upload?imei=863012345678903"
    assert request.body == LEAK_BODY and request.body_length == len(LEAK_BODY)
    assert request.anomalies == ()


@pytest.mark.parametrize("step", [1, 2, 3, 7, 64])
def test_split_anywhere_gives_the_same_requests(step: int) -> None:
    stream = POST + CHUNKED + POST
    whole, _ = frame(stream)
    split, framer = frame(stream, step=step)
    assert split == whole and len(whole) == 3
    assert not framer.anomalies


def test_body_kept_up_to_limit() -> None:
    [request], framer = frame(CHUNKED, max_body_bytes=10)
    assert request.body == LEAK_BODY[:10] and request.body_length == len(LEAK_BODY)
    assert request.anomalies == ("body-truncated",)
    assert framer.anomalies == {"body-truncated": 1}


def test_pipelined_requests_and_leading_crlf() -> None:
    stream = b"\r\nGET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.0\n\nDELETE /c HTTP/1.1\r\nHost: h\r\n\r\n"
    requests, framer = frame(stream)
    assert [(r.method, r.target) for r in requests] == [("GET", "/a"), ("GET", "/b"), ("DELETE", "/c")]
    assert requests[1].host is None and requests[1].anomalies == ()  # HTTP/1.0 needs no Host
    assert not framer.anomalies


def test_resync_after_garbage() -> None:
    request = b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
    stream = b"\x00\x01garbage\xff" + request + b"JUNK JUNK\r\n" + POST
    requests, framer = frame(stream, step=5)
    assert [r.target for r in requests] == ["/x", "/"]
    assert requests[0].body == b"abc"
    assert framer.anomalies == {"garbage": 2}
    # the CRLF after the junk is not counted: empty lines before a request are allowed (RFC 9112 2.2)
    assert framer.skipped_bytes == len(b"\x00\x01garbage\xff") + len(b"JUNK JUNK")


def test_sip_is_not_http() -> None:
    sip = b"OPTIONS sip:100@pbx SIP/2.0\r\nVia: SIP/2.0/TCP x\r\n\r\n"
    assert not looks_like_http_request(sip)
    requests, framer = frame(sip)
    assert requests == [] and framer.anomalies == {"garbage": 1}


def test_looks_like_http_request() -> None:
    assert looks_like_http_request(POST) and looks_like_http_request(b"GET ")
    assert looks_like_http_request(b"PROPFIND /dav/ HTTP/1.1\r\n")
    assert not looks_like_http_request(b"GE") and not looks_like_http_request(b"\x16\x03\x01")
    assert not looks_like_http_request(b"FOO / HTTP/1.1\r\n")


def test_header_oddities() -> None:
    stream = (
        b"GET / HTTP/1.1\r\nHost: one\r\nX-Long: a\r\n\tb\r\nHost : two\r\nno colon here\r\n"
        b"Bad Name: v\r\n\r\n"
    )
    [request], framer = frame(stream)
    assert request.headers == [("host", "one"), ("x-long", "a b"), ("host", "two"), ("bad name", "v")]
    assert request.host == "one"
    assert request.anomalies == (
        "obs-fold", "space-before-colon", "bad-header-line", "bad-header-name", "duplicate-host",
    )  # fmt: skip
    assert framer.anomalies["duplicate-host"] == 1


def test_smuggling_shapes_are_flagged() -> None:
    both = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
    both += b"1\r\nz\r\n0\r\n\r\n"
    [request], _ = frame(both)
    assert request.body == b"z" and request.anomalies == ("te-and-cl",)
    conflicting = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab"
    [request], _ = frame(conflicting)
    assert request.body == b"ab" and request.anomalies == ("conflicting-content-length",)
    [request], _ = frame(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n")
    assert request.anomalies == ("bad-content-length",)
    [request], _ = frame(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n")
    assert request.anomalies == ("bad-transfer-encoding",) and request.body_length == 0
    [request], _ = frame(b"GET / HTTP/1.1\r\n\r\n")
    assert request.anomalies == ("missing-host",)


def test_chunk_problems() -> None:
    head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    stream = head + b"3\r\nabcXX2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n"
    [request], _ = frame(stream)
    assert request.body == b"abc" and request.anomalies == ("bad-chunk-end", "bad-chunk")
    lf_only = b"POST / HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n2\nab\n0\nX-T: 1\n\n"
    [request], _ = frame(lf_only, step=1)
    assert request.body == b"ab" and request.headers[-1] == ("x-t", "1") and request.anomalies == ()


def test_header_too_long_resyncs() -> None:
    huge = b"GET / HTTP/1.1\r\nX: " + b"a" * 300 + b"\r\n\r\n"
    requests, framer = frame(huge + POST, step=50, max_header_bytes=200)  # the POST head is 150 bytes
    assert [r.method for r in requests] == ["POST"]
    assert framer.anomalies == {"header-too-long": 1, "garbage": 1}


def test_close_flushes_incomplete_body() -> None:
    framer = HttpRequestFramer()
    assert framer.feed(POST[:-10]) == []
    [request] = framer.close()
    assert request.body_length == 262 and request.anomalies == ("incomplete-body",)
    framer.feed(b"GET / HT")
    assert framer.close() == [] and framer.anomalies["incomplete-head"] == 1


def test_connect_tunnel_is_not_garbage() -> None:
    tls = (DATA / "tls_curl_clienthello.bin").read_bytes()
    requests, framer = frame(b"CONNECT zzhc.example.test:443 HTTP/1.1\r\n\r\n" + tls)
    assert [r.host for r in requests] == ["zzhc.example.test:443"]
    assert "garbage" not in framer.anomalies and framer.skipped_bytes > 0


def test_absolute_form_target_gives_host() -> None:
    [request], _ = frame(b"GET http://user@zzhc.vnet.cn:80/reg?x=1 HTTP/1.0\r\n\r\n")
    assert request.host == "zzhc.vnet.cn:80"


def test_body_preview_is_printable_and_short() -> None:
    assert body_preview(b"a\x00b\xffc\r\n" + b"x" * 500) == "a.b\ufffdc.\n" + "x" * 193
    assert len(body_preview(b"\xe4" * 1000)) == 200


def test_http_server_responses() -> None:
    framer = HttpResponseFramer()
    for method in ("GET", "HEAD", "GET"):
        framer.expect_response_to(method)
    responses = framer.feed(RESPONSES)
    assert [(r.status, r.content_type, r.body_length) for r in responses] == [
        (200, "text/plain", 23),
        (200, "text/plain", 0),
        (404, "text/html;charset=utf-8", 335),
    ]
    assert responses[2].reason == "File not found" and responses[0].to_json()["version"] == "HTTP/1.1"
    assert not framer.anomalies


def test_response_without_head_hint_misframes_head_response() -> None:
    # Without the hint the HEAD response is assumed to carry 23 body bytes: proves the hint matters.
    responses = HttpResponseFramer().feed(RESPONSES)
    assert [r.status for r in responses] != [200, 200, 404]


def test_response_read_until_close_and_interim() -> None:
    framer = HttpResponseFramer()
    stream = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200\r\nContent-Type: text/plain\r\n\r\nabc"
    first = framer.feed(stream)
    assert [(r.status, r.reason) for r in first] == [(100, "Continue")]
    [final] = framer.close()
    assert (final.status, final.body_length, final.anomalies) == (200, 3, ())


def test_response_chunked_and_upgrade() -> None:
    framer = HttpResponseFramer()
    stream = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"
    )
    responses = framer.feed(stream)
    assert [(r.status, r.body_length) for r in responses] == [(200, 4), (101, 0)]
    assert not framer.anomalies


@pytest.mark.peer
def test_tshark_agrees_on_request(tmp_path: Path) -> None:
    tshark = shutil.which("tshark")
    assert tshark, "tshark is required for peer tests"
    pcap = load_pcapfile()
    path = tmp_path / "http.pcap"
    pcap.write_pcap(path, [pcap.ipv4_frame("198.51.100.2", 40002, "203.0.113.1", 80, POST, tcp=True)])
    result = subprocess.run(
        [tshark, "-r", str(path), "-T", "fields", "-E", "separator=|", "-e", "http.request.method",
         "-e", "http.host", "-e", "http.content_type", "-e", "http.content_length_header"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    [request], _ = frame(POST)
    ours = [request.method, request.host, dict(request.headers)["content-type"], str(request.body_length)]
    assert result.stdout.strip().split("|") == ours


# Fuzzing: no input may raise; framing must not depend on how the stream is chunked.

VALID = [POST, CHUNKED, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(b"".join(draw(st.lists(st.sampled_from(VALID), min_size=1, max_size=3))))
    for _ in range(draw(st.integers(0, 6))):
        pos = draw(st.integers(0, len(data) - 1))
        if draw(st.booleans()):
            data[pos] = draw(st.sampled_from(b"\r\n :;0aZ\x00\xff"))
        else:
            data[pos : pos + draw(st.integers(0, 4))] = draw(st.binary(max_size=4))
    return bytes(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=60), max_size=10))
def test_fuzz_random_chunks(chunks: list[bytes]) -> None:
    requests = HttpRequestFramer(max_header_bytes=256, max_body_bytes=32)
    responses = HttpResponseFramer(max_header_bytes=256)
    for chunk in chunks:
        for request in requests.feed(chunk):
            request.to_json()
        responses.feed(chunk)
    requests.close()
    responses.close()
    looks_like_http_request(b"".join(chunks))


@settings(max_examples=300, deadline=None)
@given(mutated(), st.integers(1, 97))
def test_fuzz_mutations_chunking_invariant(data: bytes, step: int) -> None:
    whole, whole_framer = frame(data)
    split, split_framer = frame(data, step=step)
    assert split == whole
    assert whole_framer.close() == split_framer.close()


def test_trailers_are_bounded() -> None:
    head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
    requests, _ = frame(head + b"X-T: 1\r\n" * 100 + b"\r\n", max_header_bytes=300)
    assert requests[0].anomalies == ("trailer-too-long",)
    assert len(requests[0].headers) < 40
