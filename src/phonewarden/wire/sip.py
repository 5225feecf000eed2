"""Tolerant SIP decoder: bytes in, SipMessage out, never raises.

Parsing does only C-speed work: cut the head at the first blank line, decode and unfold it, split
off and read the start line. The header list, the body cut at Content-Length, the anomaly flags and
every derived field (URIs, tags, Via, Digest) are computed on first access and cached, because most
consumers read a handful of fields from hundreds of thousands of messages. Malformations are kept
as anomaly flags: to the shield they are signals, not errors.
"""

from __future__ import annotations

import base64
import re
from collections import Counter

from phonewarden.wire.sip_fields import JSON_FIELDS, SINGLE_VALUED, SipFields, canonical_name
from phonewarden.wire.sip_values import to_int

MAX_MESSAGE = 65535  # larger than any UDP datagram can carry: only hostile TCP streams get there

_FOLD = re.compile(r"[ \t]*\r?\n[ \t]+")
_TOKEN = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+")
_HEADER_START = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+[ \t]*:")
SIP_START_LINE = _START_LINE = re.compile(
    rb"(?:[A-Za-z0-9.!%*_+`'~-]+ [^ \r\n]+ SIP/2\.0\r?(?:\n|\Z)|SIP/2\.0 [1-9][0-9][0-9](?:[ \r\n]|\Z))"
)  # what looks_like_sip matches, for callers that inline it
# The first LF that is bare or followed by CR, LF, SP or HT. In a plain CRLF message without folds
# it is the blank line's (group 1 then ends where the body starts): one scan finds the head and
# rules out everything the general path handles.
_LINE_EVENT = re.compile(rb"\n(?:(?<!\r\n)|\r\n()|[\r\n \t])")
_STATUS_CODES = {str(code): code for code in range(100, 1000)}
_METHODS = frozenset(
    ("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "SUBSCRIBE", "NOTIFY",
     "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE")
)  # fmt: skip


def looks_like_sip(data: bytes) -> bool:
    """True if data starts with a SIP request line or a SIP/2.0 status line."""
    return _START_LINE.match(data) is not None


class SipMessage(SipFields):
    """One SIP message: the start line is read at parse time; headers, body, anomalies and the
    derived fields (call_id, from_user, via_branch, auth_username, ...) on first access, cached."""

    __slots__ = (
        "_anomalies", "_body", "_method", "_uncut_body", "is_request", "raw", "reason", "sip_version",
        "status",
    )  # fmt: skip

    def __init__(
        self,
        raw: bytes,
        head: str = "",
        lines_start: int = 0,
        request_uri: str | None = None,
        method: str | None = None,
        sip_version: str | None = None,
        status: int | None = None,
        reason: str | None = None,
        body: bytes = b"",
        anomalies: list[str] | tuple[str, ...] = (),
    ) -> None:
        """parse_sip() makes these: `head` is the decoded, unfolded head with its header lines from
        `lines_start` on; `body` is uncut; `anomalies` a list of the framing flags (the header flags are
        added on first access) or a final tuple."""
        self._init_fields(head, lines_start, request_uri)
        self.raw = raw
        self.is_request = method is not None
        self._method = method
        self.status = status
        self.reason = reason
        self.sip_version = sip_version
        self._uncut_body = body
        self._body: bytes | None = None  # cut at Content-Length on first access
        self._anomalies = anomalies

    def __repr__(self) -> str:
        first = self._method if self.is_request else self.status
        return f"<SipMessage {first} call_id={self.call_id!r} anomalies={self.anomalies!r}>"

    @property
    def method(self) -> str | None:
        """Request method; for a response the method from CSeq."""
        if self.is_request:
            return self._method
        return self.cseq_method if self.status is not None else None

    @property
    def body(self) -> bytes:
        """The bytes after the blank line, cut to Content-Length."""
        body = self._body
        if body is None:
            body = self._uncut_body
            length = to_int(self._first("content-length"))
            if length is not None and len(body) > length:
                body = body[:length]
            self._body = body
        return body

    @property
    def anomalies(self) -> tuple[str, ...]:
        """Malformation flags in the order they were found."""
        anomalies = self._anomalies
        if isinstance(anomalies, list):
            anomalies = self._anomalies = tuple(anomalies + self._header_anomalies())
        return anomalies

    def _header_anomalies(self) -> list[str]:
        flags: list[str] = []
        headers = self.headers
        index = self._full_index()
        if len(headers) < self._head.count("\n", self._head_start):
            _scan_header_lines(self._head[self._head_start :], flags)  # colon-less lines: all in order
        elif len(index) < len(headers):
            _flag_duplicates(headers, flags)
        length_text = index.get("content-length")
        if length_text is not None:
            length = to_int(length_text)
            if length is None:
                flags.append("bad-content-length")
            elif len(self._uncut_body) < length:
                flags.append("body-truncated")
            elif len(self._uncut_body) > length:
                flags.append("trailing-bytes")
        if "call-id" not in index:
            flags.append("missing-call-id")
        if "cseq" not in index:
            flags.append("missing-cseq")
        return flags

    def to_json(self) -> dict[str, object]:
        """All fields with None values left out; the body as text, or base64 if not UTF-8."""
        self._full_index()  # first: one split then serves every field, instead of a search each
        values = (
            self.method,
            self.status,
            self.reason,
            self.request_uri,
            self.sip_version,
            *self._header_fields(),
        )
        record: dict[str, object] = {"is_request": self.is_request}
        record.update(
            {name: value for name, value in zip(JSON_FIELDS, values, strict=True) if value is not None}
        )
        record["headers"] = [[name, value] for name, value in self.headers]
        body = self.body
        if body:
            try:
                record["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                record["body_base64"] = base64.b64encode(body).decode("ascii")
        record["anomalies"] = list(self.anomalies)
        return record


def _flag_duplicates(headers: list[tuple[str, str]], flags: list[str]) -> None:
    """duplicate-header-* for repeated single-valued headers, in the order of their repeats."""
    seen: set[str] = set()
    for name, _ in headers:
        if name not in seen:
            seen.add(name)
        elif name in SINGLE_VALUED and f"duplicate-header-{name}" not in flags:
            flags.append(f"duplicate-header-{name}")


def _scan_header_lines(lines: str, flags: list[str]) -> None:
    """bad-header-line and duplicate-header-* in wire order (only needed with colon-less lines)."""
    seen: set[str] = set()
    for line in lines.split("\n")[1:]:
        name, colon, _ = line.partition(":")
        if not colon:
            if line.strip() and "bad-header-line" not in flags:
                flags.append("bad-header-line")
            continue
        name = canonical_name(name)
        if name not in seen:
            seen.add(name)
        elif name in SINGLE_VALUED and f"duplicate-header-{name}" not in flags:
            flags.append(f"duplicate-header-{name}")


# --- parsing ----------------------------------------------------------------------------------


def parse_sip(data: bytes) -> SipMessage:
    """Read the start line and cut the header block and body; never raises."""
    try:
        anomalies: list[str] = []
        if len(data) > MAX_MESSAGE:
            anomalies.append("oversize")
        # _read_head's common case written out (CRLF lines, no folds, no leading blank line, UTF-8): it
        # runs for every message; anything else, including a head that is not UTF-8, goes to _read_head.
        event = _LINE_EVENT.search(data)
        head: str | None = None
        if event is not None and (body_start := event.end(1)) > 0 and data[0] != 13:
            try:
                head = data[: body_start - 4].decode("utf-8")
            except UnicodeDecodeError:
                head = None  # _read_head flags it and decodes line by line
        if head is not None:
            body = data[body_start:]
            lines_start = head.find("\n")
            if lines_start < 0:
                first, lines_start = head, len(head)
            else:
                first = head[: lines_start - 1]
        else:
            head, first, lines_start, body = _read_head(data, anomalies)
        request_uri = method = version = reason = status = None
        if first.startswith("SIP/"):
            version, _, rest = first.partition(" ")
            code, _, reason = rest.partition(" ")
            status = _STATUS_CODES.get(code)
            if status is None and len(code) == 3:
                status = to_int(code)  # e.g. "20\t": odd, flagged, but the number is kept
            if status is None or status < 100 or version != "SIP/2.0":
                anomalies.append("bad-start-line")
        else:
            parts = first.split(" ")
            if (
                len(parts) == 3
                and parts[0] in _METHODS
                and parts[1][:1].isalpha()
                and parts[2].startswith("SIP/")
            ):
                method, request_uri, version = parts  # the common request line, settled without regexes
                if version != "SIP/2.0":
                    anomalies.append("bad-start-line")
            elif _HEADER_START.match(first) or not first.strip():
                anomalies.append("no-start-line")
                head, lines_start = "\n" + first + head[lines_start:], 0  # the first line is a header too
            else:
                method, request_uri, version = _odd_request_line(first, parts, anomalies)
        return SipMessage(
            data, head, lines_start, request_uri, method, version, status, reason, body, anomalies
        )
    except Exception:  # last-resort guard: the contract is "never raises" even if this has a bug
        return SipMessage(bytes(data), anomalies=("parser-error",))


def _odd_request_line(first: str, parts: list[str], anomalies: list[str]) -> tuple[str | None, ...]:
    """Method, request URI and version of a start line that is neither plain nor a header line."""
    if len(parts) != 3:
        parts = first.split()
        anomalies.append("bad-start-line")
    if len(parts) == 3 and parts[2].startswith("SIP/") and _TOKEN.fullmatch(parts[0]):
        if parts[2] != "SIP/2.0" and "bad-start-line" not in anomalies:
            anomalies.append("bad-start-line")
        return parts[0], parts[1], parts[2]
    if "bad-start-line" not in anomalies:
        anomalies.append("bad-start-line")
    return None, None, None


def _read_head(data: bytes, anomalies: list[str]) -> tuple[str, str, int, bytes]:
    """Head as text (unfolded), its start line, where its header lines start (at a LF) and the
    body; flags anomalies of the framing (leading blank lines, line ends, folds, encoding)."""
    event = _LINE_EVENT.search(data)
    if event is not None and (body_start := event.end(1)) > 0 and data[0] != 13:
        try:  # the common case: CRLF lines, no folds, no leading blank line (LF was ruled out)
            head = data[: body_start - 4].decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            newline = head.find("\n")
            if newline < 0:
                return head, head, len(head), data[body_start:]
            return head, head[: newline - 1], newline, data[body_start:]
    head_bytes, body, lf_blank = _split_head(data, anomalies)
    head = _decode_head(head_bytes, anomalies)
    if "\n " in head or "\n\t" in head:
        anomalies.append("folded-header")
        head = _FOLD.sub(" ", head)
    newline = head.find("\n")
    if newline < 0:
        if lf_blank:
            anomalies.append("mixed-line-ends" if "\r" in head else "lf-only")
        return head, head, len(head), body
    first = head[:newline]
    if "\r" in head:
        mixed = head.count("\r\n") != head.count("\n")
        if mixed or lf_blank:
            anomalies.append("mixed-line-ends")
        first = first.rstrip("\r") if mixed else first[:-1]  # as splitting at LF or at CRLF would
    else:
        anomalies.append("lf-only")
    return head, first, newline, body


def _decode_head(head: bytes, anomalies: list[str]) -> str:
    """UTF-8 per line, falling back to latin-1 (lossless and JSON-safe) for lines that are not."""
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError:
        anomalies.append("bad-utf8")
    lines = []
    for line in head.split(b"\n"):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(line.decode("latin-1"))
    return "\n".join(lines)


def _split_head(data: bytes, anomalies: list[str]) -> tuple[bytes, bytes, bool]:
    """Head (start line + headers), everything after the first blank line, and whether that blank
    line ended in a bare LF."""
    if data[:1] in (b"\r", b"\n"):
        stripped = data.lstrip(b"\r\n")
        anomalies.append("leading-blank-lines")
        data = stripped
    crlf = data.find(b"\r\n\r\n")
    lf = data.find(b"\n\n", 0, len(data) if crlf < 0 else crlf)  # bounded: never scan the body
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return data[:crlf], data[crlf + 4 :], False
    if lf >= 0:
        return data[:lf].rstrip(b"\r"), data[lf + 2 :], True
    anomalies.append("missing-blank-line")
    return data.rstrip(b"\r\n"), b"", False


# --- SIP over TCP ---------------------------------------------------------------------------

_CONTENT_LENGTH = re.compile(rb"(?:^|\n)(?:content-length|l)[ \t]*:[ \t]*([0-9]{1,10})", re.IGNORECASE)
_NEXT_START = re.compile(_START_LINE.pattern.join((rb"(?:^|\n)(?=", rb")")))
_MAX_LINE = 8192  # a start line longer than this is not worth waiting for


class SipStreamFramer:
    """Cuts one direction of a TCP byte stream into SIP messages (blank line + Content-Length).

    Garbage and oversize messages are skipped by resyncing at the next SIP start line; every skip
    is counted in `anomalies`. CRLF keep-alives (RFC 5626) are counted in `keepalives`.
    """

    def __init__(self, max_buffer: int = 65536) -> None:
        self.max_buffer = max_buffer
        self.anomalies: Counter[str] = Counter()
        self.keepalives = 0
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Add stream bytes; return every message completed by them, in order."""
        buffer = self._buffer
        buffer += data
        messages: list[bytes] = []
        pos = 0
        while pos < len(buffer):
            if buffer[pos] in (0x0D, 0x0A):  # RFC 5626 keep-alive ping (CRLFCRLF) or pong (CRLF)
                while pos < len(buffer) and buffer[pos] in (0x0D, 0x0A):
                    pos += 1
                self.keepalives += 1
                continue
            if _START_LINE.match(buffer, pos) is None:
                if buffer.find(b"\n", pos) < 0 and len(buffer) - pos < _MAX_LINE:
                    break  # the start line may still be arriving
                pos = self._resync(buffer, pos, "garbage")
                continue
            end = self._message_end(buffer, pos)
            if end is None:
                if len(buffer) - pos > self.max_buffer:
                    pos = self._resync(buffer, pos, "overflow")
                    continue
                break
            if end - pos > self.max_buffer:
                self.anomalies["oversize"] += 1
                pos = self._resync(buffer, pos, "overflow") if end > len(buffer) else end
                continue
            if end > len(buffer):
                break  # body still arriving
            messages.append(bytes(buffer[pos:end]))
            pos = end
        del buffer[:pos]
        return messages

    def _message_end(self, buffer: bytearray, pos: int) -> int | None:
        """Offset just past the message starting at pos (may lie beyond the buffer), or None."""
        crlf = buffer.find(b"\r\n\r\n", pos)
        lf = buffer.find(b"\n\n", pos, len(buffer) if crlf < 0 else crlf)  # bounded: O(n) per feed
        if crlf >= 0 and (lf < 0 or crlf < lf):
            head_end, body_start = crlf, crlf + 4
        elif lf >= 0:
            head_end, body_start = lf, lf + 2
        else:
            return None
        match = _CONTENT_LENGTH.search(buffer, pos, head_end)
        if match is None:
            self.anomalies["missing-content-length"] += 1
            return body_start
        return body_start + int(match.group(1))

    def _resync(self, buffer: bytearray, pos: int, reason: str) -> int:
        """Count the skip; return the offset of the next SIP start line after pos."""
        self.anomalies[reason] += 1
        match = _NEXT_START.search(buffer, pos + 1)
        if match is not None:
            return match.start() + 1
        last_line = buffer.rfind(b"\n", pos) + 1  # keep a partial last line: it may be a start line
        return max(last_line, pos + 1, len(buffer) - _MAX_LINE)
