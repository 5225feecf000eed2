"""HTTP/1.x message framers for one direction of a reassembled TCP stream.

Plain HTTP is where phone-home clients leak identifiers (Host, target, headers, body), so requests
keep their body up to a bound; responses keep only status, headers and body length. Framers accept
arbitrary chunking, pipelining and garbage (a capture gap, a non-HTTP protocol on port 80): they
skip to the next plausible message start and count what they skipped instead of raising.
"""

from __future__ import annotations

import collections
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

_TCHAR = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]"
_METHODS = (
    rb"GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH|CONNECT|TRACE|"
    rb"PROPFIND|PROPPATCH|MKCOL|COPY|MOVE|LOCK|UNLOCK|REPORT|SEARCH|MKCALENDAR"
)
_REQUEST_LINE = re.compile(rb"(" + _TCHAR + rb"{1,32}) +([^\x00-\x20\x7f]+) +(HTTP/\d\.\d) *\r?")
_REQUEST_PREFIX = re.compile(_TCHAR + rb"{0,32}|" + _TCHAR + rb"{1,32} [^\x00-\x1f\x7f]*\r?")
_REQUEST_CANDIDATE = re.compile(rb"(?:" + _METHODS + rb") ")
_METHOD_WORDS = tuple(method + b" " for method in _METHODS.split(b"|"))
_STATUS_LINE = re.compile(rb"(HTTP/\d\.\d) +(\d{3})(?: +([^\x00-\x08\x0a-\x1f\x7f]*))?\r?")
# Any prefix of a status line: "", "H", "HT", ... "HTTP/1.1 2..."
_STATUS_PREFIX = re.compile(rb"H|HT|HTT|HTTP|HTTP/|HTTP/\d(?:\.(?:\d(?: [^\x00-\x08\x0a-\x1f\x7f]*\r?)?)?)?")
_STATUS_CANDIDATE = re.compile(rb"HTTP/\d\.\d \d")
_HEAD_END = re.compile(rb"\n\r?\n")
_HEADER_NAME = re.compile(_TCHAR + rb"+")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_ABSOLUTE_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#]*)")
_MAX_CHUNK_LINE = 4096
_METHOD_TAIL = 15  # longest method in _METHODS plus its space: a split candidate fits in the tail
PREVIEW_CHARS = 200


def looks_like_http_request(data: bytes) -> bool:
    """True when `data` starts with a known method and, if its first line is complete, HTTP/x.y."""
    if not _REQUEST_CANDIDATE.match(data):
        return False
    line_end = data.find(b"\n")
    return line_end < 0 or _REQUEST_LINE.fullmatch(data, 0, line_end) is not None


def body_preview(body: bytes, limit: int = PREVIEW_CHARS) -> str:
    """Printable rendering of the start of a body, for display (leak search uses the raw bytes)."""
    text = body[: limit * 4].decode("utf-8", "replace")[:limit]
    return "".join(ch if ch.isprintable() or ch in "\t\n" else "." for ch in text)


def header_value(headers: list[tuple[str, str]], name: str) -> str | None:
    """First value of header `name` (lower case), as most servers read a repeated header."""
    return next((value for key, value in headers if key == name), None)


@dataclass(slots=True)
class HttpRequest:
    method: str
    target: str
    version: str
    host: str | None
    headers: list[tuple[str, str]]  # (lower-case name, value) in wire order; chunked trailers appended
    body: bytes  # at most the framer's max_body_bytes, after de-chunking
    body_length: int  # full de-chunked length
    anomalies: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "target": self.target,
            "version": self.version,
            "host": self.host,
            "headers": [[name, value] for name, value in self.headers],
            "body_length": self.body_length,
            "body_preview": body_preview(self.body),
            "anomalies": list(self.anomalies),
        }


@dataclass(slots=True)
class HttpResponse:
    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    content_type: str | None
    body_length: int
    anomalies: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "status": self.status,
            "reason": self.reason,
            "headers": [[name, value] for name, value in self.headers],
            "content_type": self.content_type,
            "body_length": self.body_length,
            "anomalies": list(self.anomalies),
        }


@dataclass(slots=True)
class _Head:
    start: tuple[str, str, str]  # request: method, target, version; response: version, status, reason
    headers: list[tuple[str, str]]
    anomalies: list[str] = field(default_factory=list)


def _parse_headers(lines: list[bytes], anomalies: list[str]) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for raw in lines:
        line = raw.removesuffix(b"\r")
        if line[:1] in (b" ", b"\t"):
            if headers:  # obsolete line folding (RFC 9112 5.2): join with one space
                key, text = headers[-1]
                continuation = line.strip(b" \t").decode("latin-1")
                headers[-1] = (key, f"{text} {continuation}".strip())
            anomalies.append("obs-fold")
            continue
        name, colon, value = line.partition(b":")
        if not colon or not name:
            anomalies.append("bad-header-line")
            continue
        if name != name.rstrip(b" \t"):
            anomalies.append("space-before-colon")  # a classic request-smuggling vector
            name = name.rstrip(b" \t")
        if not _HEADER_NAME.fullmatch(name):
            anomalies.append("bad-header-name")
        headers.append((name.decode("latin-1").lower(), value.strip(b" \t").decode("latin-1")))
    return headers


def _body_framing(headers: list[tuple[str, str]], anomalies: list[str]) -> tuple[str, int]:
    """("chunked"|"length"|"none"|"invalid", length) from Transfer-Encoding and Content-Length."""
    codings = [c.strip().lower() for k, v in headers if k == "transfer-encoding" for c in v.split(",")]
    lengths = [c.strip() for k, v in headers if k == "content-length" for c in v.split(",")]
    if codings:
        if lengths:
            anomalies.append("te-and-cl")
        if codings[-1] != "chunked":
            anomalies.append("bad-transfer-encoding")
            return "invalid", 0
        return "chunked", 0
    if not lengths:
        return "none", 0
    if not all(value.isdigit() and value.isascii() for value in lengths):
        anomalies.append("bad-content-length")
        return "invalid", 0
    if len(set(map(int, lengths))) > 1:
        anomalies.append("conflicting-content-length")
    return "length", int(lengths[0])


T = TypeVar("T")


class _Framer(ABC, Generic[T]):
    """Shared state machine: head, then a body framed by length, chunks or connection close."""

    start_line: re.Pattern[bytes]
    start_prefix: re.Pattern[bytes]
    candidate: re.Pattern[bytes]
    keeps_body = True

    def __init__(self, max_header_bytes: int, max_body_bytes: int) -> None:
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes
        self.anomalies: collections.Counter[str] = collections.Counter()
        self.skipped_bytes = 0  # garbage and tunnelled bytes that belonged to no message
        self._buf = bytearray()
        self._state = "head"  # head | length | chunk-size | chunk-data | chunk-end | trailers | close
        self._head: _Head | None = None
        self._body = bytearray()
        self._body_length = 0
        self._remaining = 0
        self._trailer_bytes = 0
        self._in_garbage = False
        self._opaque = False  # after CONNECT/Upgrade: non-HTTP bytes are expected, not anomalous

    def feed(self, data: bytes) -> list[T]:
        """Add stream bytes; return the messages completed by them."""
        self._buf += data
        out: list[T] = []
        while self._step(out):
            pass
        return out

    def close(self) -> list[T]:
        """End of stream: return a message whose body was cut short (flagged) or read until close."""
        out: list[T] = []
        if self._head is not None:
            if self._state != "close":
                self._head.anomalies.append("incomplete-body")
            out.append(self._finish())
        elif self._buf.strip(b"\r\n") and not self._opaque:
            self.anomalies["incomplete-head"] += 1
        self._buf.clear()
        return out

    @abstractmethod
    def _begin(self, start: re.Match[bytes], headers: list[tuple[str, str]], anomalies: list[str]) -> str:
        """Store the parsed head in self._head and return the body framing state."""

    @abstractmethod
    def _at_candidate(self, buf: bytearray) -> bool:
        """Whether `buf` starts with (or, being short, could still become) a message start."""

    @abstractmethod
    def _build(self, head: _Head, body: bytes, body_length: int) -> T: ...

    def _step(self, out: list[T]) -> bool:
        """Advance the state machine once; False when more input is needed."""
        if self._state == "head":
            return self._step_head(out)
        if self._state in ("length", "chunk-data", "close"):
            return self._step_body(out)
        if self._state == "chunk-end":
            return self._step_chunk_end()
        return self._step_line(out)

    def _step_head(self, out: list[T]) -> bool:
        leading = len(self._buf) - len(self._buf.lstrip(b"\r\n"))  # RFC 9112 2.2 allows stray CRLFs
        del self._buf[:leading]
        if not self._buf:
            return False
        if self._in_garbage and not self._at_candidate(self._buf):
            return self._skip_garbage()  # resync only where a message plausibly starts
        line_end = self._buf.find(b"\n")
        first = self._buf if line_end < 0 else self._buf[:line_end]
        pattern = self.start_prefix if line_end < 0 else self.start_line
        start = pattern.fullmatch(first)
        if start is None:
            return self._skip_garbage()
        end = _HEAD_END.search(self._buf, max(line_end, 0), self.max_header_bytes + 3)
        if end is None:
            if len(self._buf) <= self.max_header_bytes:
                return False
            self.anomalies["header-too-long"] += 1
            return self._skip_garbage()
        anomalies: list[str] = []
        headers = _parse_headers(
            bytes(self._buf[line_end + 1 : end.start() + 1]).split(b"\n")[:-1], anomalies
        )
        self._in_garbage = self._opaque = False
        self._state = self._begin(start, headers, anomalies)
        del self._buf[: end.end()]
        if self._state == "none":
            out.append(self._finish())
        return True

    def _skip_garbage(self) -> bool:
        if not self._in_garbage and not self._opaque:
            self.anomalies["garbage"] += 1
        self._in_garbage = True
        found = self.candidate.search(self._buf, 1)
        cut = found.start() if found else max(1, len(self._buf) - _METHOD_TAIL)
        self.skipped_bytes += cut
        del self._buf[:cut]
        return True

    def _step_body(self, out: list[T]) -> bool:
        if not self._buf:
            return False
        take = len(self._buf) if self._state == "close" else min(self._remaining, len(self._buf))
        room = max(0, self.max_body_bytes - len(self._body))
        self._body += self._buf[: min(take, room)]
        self._body_length += take
        self._remaining -= take
        del self._buf[:take]
        if self._state != "close" and self._remaining == 0:
            if self._state == "length":
                out.append(self._finish())
            else:
                self._state = "chunk-end"
        return True

    def _step_chunk_end(self) -> bool:
        if self._buf.startswith(b"\r\n"):
            del self._buf[:2]
        elif self._buf.startswith(b"\n"):
            del self._buf[:1]
        elif len(self._buf) < 2 and not self._buf.rstrip(b"\r"):  # "" or a lone CR: wait
            return False
        else:
            self._note("bad-chunk-end")  # tolerate: read the next size line from here
        self._state = "chunk-size"
        return True

    def _step_line(self, out: list[T]) -> bool:
        """A chunk-size line or a trailer line."""
        assert self._head is not None
        line_end = self._buf.find(b"\n", 0, _MAX_CHUNK_LINE)
        if line_end < 0:
            if len(self._buf) < _MAX_CHUNK_LINE:
                return False
            self._note("bad-chunk")
            out.append(self._finish())  # give up on this body; resync on what follows
            return True
        line = bytes(self._buf[:line_end]).removesuffix(b"\r")
        del self._buf[: line_end + 1]
        if self._state == "trailers":
            self._trailer_bytes += line_end + 1
            if not line:
                out.append(self._finish())
            elif self._trailer_bytes > self.max_header_bytes:
                self._note("trailer-too-long")
                out.append(self._finish())
            else:
                self._head.headers += _parse_headers([line], self._head.anomalies)
            return True
        size = line.split(b";", 1)[0].strip(b" \t")
        if not _CHUNK_SIZE.fullmatch(size):
            self._note("bad-chunk")
            out.append(self._finish())
            return True
        self._remaining = int(size, 16)
        self._state = "chunk-data" if self._remaining else "trailers"
        return True

    def _note(self, anomaly: str) -> None:
        if self._head is not None:
            self._head.anomalies.append(anomaly)

    def _finish(self) -> T:
        assert self._head is not None
        head = self._head
        if self.keeps_body and self._body_length > len(self._body):
            head.anomalies.append("body-truncated")
        head.anomalies = list(dict.fromkeys(head.anomalies))
        self.anomalies.update(head.anomalies)
        message = self._build(head, bytes(self._body), self._body_length)
        self._head, self._state = None, "head"
        self._body, self._body_length, self._remaining, self._trailer_bytes = bytearray(), 0, 0, 0
        return message


class HttpRequestFramer(_Framer[HttpRequest]):
    """Frames the client-to-server direction into HttpRequest records."""

    start_line = _REQUEST_LINE
    start_prefix = _REQUEST_PREFIX
    candidate = _REQUEST_CANDIDATE

    def __init__(self, max_header_bytes: int = 32 * 1024, max_body_bytes: int = 64 * 1024) -> None:
        super().__init__(max_header_bytes, max_body_bytes)

    def _begin(self, start: re.Match[bytes], headers: list[tuple[str, str]], anomalies: list[str]) -> str:
        method, target, version = (part.decode("latin-1") for part in start.groups())
        self._head = _Head((method, target, version), headers, anomalies)
        if sum(name == "host" for name, _ in headers) > 1:
            anomalies.append("duplicate-host")
        if version == "HTTP/1.1" and header_value(headers, "host") is None:
            anomalies.append("missing-host")
        # The client speaks another protocol after these (if the server agrees): stop expecting HTTP.
        self._opaque = method == "CONNECT" or header_value(headers, "upgrade") is not None
        framing, length = _body_framing(headers, anomalies)
        if framing == "length" and length:
            self._remaining = length
            return "length"
        return "chunk-size" if framing == "chunked" else "none"

    def _at_candidate(self, buf: bytearray) -> bool:
        return any(word[: len(buf)] == buf[: len(word)] for word in _METHOD_WORDS)

    def _build(self, head: _Head, body: bytes, body_length: int) -> HttpRequest:
        method, target, version = head.start
        host = header_value(head.headers, "host")
        if host is None and (authority := _ABSOLUTE_AUTHORITY.match(target)):
            host = authority.group(1)  # absolute-form target, as sent to a proxy
        elif host is None and method == "CONNECT":
            host = target
        return HttpRequest(
            method, target, version, host, head.headers, body, body_length, tuple(head.anomalies)
        )


class HttpResponseFramer(_Framer[HttpResponse]):
    """Frames the server-to-client direction; bodies are counted, not kept.

    Call `expect_response_to(method)` for each request seen on the other direction, so responses to
    HEAD (which carry no body) frame correctly; without it every response is assumed to have a body.
    """

    start_line = _STATUS_LINE
    start_prefix = _STATUS_PREFIX
    candidate = _STATUS_CANDIDATE
    keeps_body = False

    def __init__(self, max_header_bytes: int = 32 * 1024) -> None:
        super().__init__(max_header_bytes, max_body_bytes=0)
        self._methods: collections.deque[str] = collections.deque(maxlen=1024)

    def expect_response_to(self, method: str) -> None:
        self._methods.append(method)

    def _begin(self, start: re.Match[bytes], headers: list[tuple[str, str]], anomalies: list[str]) -> str:
        version, status, reason = (part.decode("latin-1") if part else "" for part in start.groups())
        self._head = _Head((version, status, reason), headers, anomalies)
        code = int(status)
        if code < 200 and code != 101:
            return "none"  # interim response; the final one follows
        method = self._methods.popleft() if self._methods else ""
        if code == 101 or (method == "CONNECT" and code < 300):
            self._opaque = True
            return "none"
        framing, length = _body_framing(headers, anomalies)
        if method == "HEAD" or code in (204, 304) or (framing == "length" and not length):
            return "none"
        if framing == "length":
            self._remaining = length
            return "length"
        return "chunk-size" if framing == "chunked" else "close"

    def _at_candidate(self, buf: bytearray) -> bool:
        return bool(_STATUS_CANDIDATE.match(buf) or _STATUS_PREFIX.fullmatch(buf, 0, _METHOD_TAIL))

    def _build(self, head: _Head, body: bytes, body_length: int) -> HttpResponse:
        version, status, reason = head.start
        content_type = header_value(head.headers, "content-type")
        return HttpResponse(
            version, int(status), reason, head.headers, content_type, body_length, tuple(head.anomalies)
        )
