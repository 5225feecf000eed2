from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.privacy.fasthttp import whole_request
from phonewarden.wire.http import HttpRequestFramer

REQUEST = b"POST /a?imei=1 HTTP/1.1\r\nHost: x.example\r\nUser-Agent: t\r\nContent-Length: 5\r\n\r\nhello"


def test_one_whole_request() -> None:
    request = whole_request(REQUEST)
    assert request is not None
    assert (request.method, request.target, request.host, request.body) == (
        "POST",
        "/a?imei=1",
        "x.example",
        b"hello",
    )


def test_anything_unusual_goes_to_the_framer() -> None:
    for payload in (
        REQUEST[:-1],  # body cut short
        REQUEST + b"GET / HTTP/1.1\r\n",  # pipelined
        REQUEST.replace(b"Content-Length: 5", b"Transfer-Encoding: chunked"),
        REQUEST.replace(b"User-Agent: t\r\n", b"User-Agent: t\r\n folded\r\n"),
        REQUEST.replace(b"User-Agent: t\r\n", b"no colon here\r\n"),
        REQUEST.replace(b"Host: x.example\r\n", b""),
        REQUEST.replace(b"Host: x.example\r\n", b"Host: x.example\r\nHost: y.example\r\n"),
        REQUEST.replace(b"\r\n", b"\n"),
        b"CONNECT x.example:443 HTTP/1.1\r\nHost: x.example:443\r\n\r\n",
        b"\x16\x03\x01\x00\x05hello",
    ):
        assert whole_request(payload) is None, payload


_token = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12)
_value = st.text("abcdefghijklmnopqrstuvwxyz0123456789 /:;=.-", max_size=30)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_token, _value), max_size=6), st.binary(max_size=80),
       st.sampled_from(["GET", "POST", "PUT"]))  # fmt: skip
def test_same_request_as_the_kernel_framer(headers: list[tuple[str, str]], body: bytes, method: str) -> None:
    lines = [f"{name}: {value}" for name, value in headers if name.lower() not in ("content-length", "host")]
    head = "\r\n".join(
        [f"{method} /p?q=1 HTTP/1.1", "Host: h.example", *lines, f"Content-Length: {len(body)}"]
    )
    payload = head.encode() + b"\r\n\r\n" + body
    ours = whole_request(payload)
    [theirs] = HttpRequestFramer().feed(payload)
    assert ours is not None  # well-formed and whole: the fast path must take it
    fields = ("method", "target", "version", "host", "headers", "body", "body_length")
    assert [getattr(ours, name) for name in fields] == [getattr(theirs, name) for name in fields]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_never_raises(payload: bytes) -> None:
    whole_request(payload)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=24), max_size=5), st.binary(max_size=40))
def test_whenever_it_answers_the_framer_agrees(lines: list[bytes], body: bytes) -> None:
    head = b"\r\n".join([b"POST /x HTTP/1.1", b"Host: h.example", *lines, b"Content-Length: %d" % len(body)])
    payload = head + b"\r\n\r\n" + body
    ours = whole_request(payload)
    if ours is None:
        return
    framed = HttpRequestFramer().feed(payload)
    assert len(framed) == 1 and not framed[0].anomalies, framed
    fields = ("method", "target", "version", "host", "headers", "body", "body_length")
    assert [getattr(ours, name) for name in fields] == [getattr(framed[0], name) for name in fields]
