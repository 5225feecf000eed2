"""Tolerant SIP decoder: bytes in, SipMessage out, never raises.

Parsing only splits the start line, headers and body; everything derived (URIs, tags, Via, Digest)
is computed on first access and cached, because most consumers read a handful of fields from
hundreds of thousands of messages. Malformations are kept as anomaly flags: to the shield they are
signals, not errors.
"""

from __future__ import annotations

import base64
import re
from collections import Counter

from phonewarden.wire.sip_fields import (
    NameAddr,
    Uri,
    Via,
    parse_auth,
    parse_name_addr,
    parse_uri,
    parse_via,
    split_list,
    to_int,
)

MAX_MESSAGE = 65535  # larger than any UDP datagram can carry: only hostile TCP streams get there

COMPACT_FORMS = {
    "i": "call-id", "f": "from", "t": "to", "v": "via", "m": "contact", "l": "content-length",
    "c": "content-type", "e": "content-encoding", "k": "supported", "s": "subject", "o": "event",
    "u": "allow-events", "r": "refer-to", "b": "referred-by", "x": "session-expires",
    "a": "accept-contact", "j": "reject-contact", "d": "request-disposition", "y": "identity",
    "n": "identity-info",
}  # fmt: skip
SINGLE_VALUED = frozenset(
    ("call-id", "cseq", "from", "to", "max-forwards", "content-length", "content-type", "expires",
     "user-agent", "server", "date", "min-expires")
)  # fmt: skip
LIST_VALUED = frozenset(("via", "contact", "route", "record-route"))

_FOLD = re.compile(r"[ \t]*\r?\n[ \t]+")
_TOKEN = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+")
_HEADER_START = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+[ \t]*:")
_START_LINE = re.compile(
    rb"(?:[A-Za-z0-9.!%*_+`'~-]+ [^ \r\n]+ SIP/2\.0\r?(?:\n|\Z)|SIP/2\.0 [1-9][0-9][0-9](?:[ \r\n]|\Z))"
)
_CANON_CACHE: dict[str, str] = {}  # raw header name -> canonical name; bounded below
_CANON_CACHE_MAX = 1024

_EMPTY_URI = Uri(None, None, None, None, {})
_EMPTY_ADDR = NameAddr(None, _EMPTY_URI, {})
_EMPTY_VIA = Via(None, None, None, {})


def looks_like_sip(data: bytes) -> bool:
    """True if data starts with a SIP request line or a SIP/2.0 status line."""
    return _START_LINE.match(data) is not None


def canonical_name(name: str) -> str:
    """Header name as stored: stripped, lowercase, compact forms expanded."""
    canon = _CANON_CACHE.get(name)
    if canon is None:
        canon = name.strip().lower()
        canon = COMPACT_FORMS.get(canon, canon)
        if len(_CANON_CACHE) < _CANON_CACHE_MAX:  # hostile traffic must not grow it without bound
            _CANON_CACHE[name] = canon
    return canon


class SipMessage:
    """One SIP message. Plain attributes are set at parse time; the properties are lazy and cached."""

    __slots__ = (
        "_auth", "_challenge", "_contact", "_from", "_index", "_method", "_ruri", "_to", "_via",
        "anomalies", "body", "headers", "is_request", "raw", "reason", "request_uri", "sip_version",
        "status",
    )  # fmt: skip

    def __init__(
        self,
        raw: bytes,
        *,
        is_request: bool = False,
        method: str | None = None,
        status: int | None = None,
        reason: str | None = None,
        request_uri: str | None = None,
        sip_version: str | None = None,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        anomalies: tuple[str, ...] = (),
    ) -> None:
        self.raw = raw
        self.is_request = is_request
        self._method = method
        self.status = status
        self.reason = reason
        self.request_uri = request_uri
        self.sip_version = sip_version
        self.headers: list[tuple[str, str]] = headers if headers is not None else []
        self.body = body
        self.anomalies = anomalies
        index: dict[str, str] = {}
        for name, value in self.headers:
            index.setdefault(name, value)
        self._index = index
        self._from: NameAddr | None = None
        self._to: NameAddr | None = None
        self._contact: NameAddr | None = None
        self._ruri: Uri | None = None
        self._via: Via | None = None
        self._auth: dict[str, str] | None = None
        self._challenge: dict[str, str] | None = None

    def __repr__(self) -> str:
        first = self._method if self.is_request else self.status
        return f"<SipMessage {first} call_id={self.call_id!r} anomalies={self.anomalies!r}>"

    def header(self, name: str) -> str | None:
        """First value of a header (any case, compact form accepted)."""
        return self._index.get(canonical_name(name))

    def header_values(self, name: str) -> list[str]:
        """All values of a header in order; comma-joined Via/Contact/Route values are split."""
        canon = canonical_name(name)
        values = [value for header_name, value in self.headers if header_name == canon]
        if canon in LIST_VALUED:
            return [item for value in values for item in split_list(value)]
        return values

    # --- start line and plain headers -------------------------------------------------------

    @property
    def method(self) -> str | None:
        """Request method; for a response the method from CSeq."""
        return self._method if self.is_request else self.cseq_method

    @property
    def call_id(self) -> str | None:
        return self._index.get("call-id")

    @property
    def cseq_number(self) -> int | None:
        cseq = self._index.get("cseq")
        return to_int(cseq.split(None, 1)[0]) if cseq and cseq.strip() else None

    @property
    def cseq_method(self) -> str | None:
        parts = self._index.get("cseq", "").split()
        return parts[1] if len(parts) > 1 else None

    @property
    def user_agent(self) -> str | None:
        return self._index.get("user-agent")

    @property
    def server(self) -> str | None:
        return self._index.get("server")

    @property
    def max_forwards(self) -> int | None:
        return to_int(self._index.get("max-forwards"))

    @property
    def content_type(self) -> str | None:
        return self._index.get("content-type")

    @property
    def content_length(self) -> int | None:
        return to_int(self._index.get("content-length"))

    @property
    def expires(self) -> int | None:
        """Expires header, else the ;expires= parameter of the first Contact."""
        expires = to_int(self._index.get("expires"))
        return expires if expires is not None else to_int(self._contact_addr().params.get("expires"))

    # --- addresses ------------------------------------------------------------------------

    def _addr(self, name: str) -> NameAddr:
        value = self._index.get(name)
        return parse_name_addr(value) if value else _EMPTY_ADDR

    def _from_addr(self) -> NameAddr:
        if self._from is None:
            self._from = self._addr("from")
        return self._from

    def _to_addr(self) -> NameAddr:
        if self._to is None:
            self._to = self._addr("to")
        return self._to

    def _contact_addr(self) -> NameAddr:
        if self._contact is None:
            contacts = self.header_values("contact")
            self._contact = parse_name_addr(contacts[0]) if contacts else _EMPTY_ADDR
        return self._contact

    def _ruri_parsed(self) -> Uri:
        if self._ruri is None:
            self._ruri = parse_uri(self.request_uri) if self.request_uri else _EMPTY_URI
        return self._ruri

    @property
    def from_user(self) -> str | None:
        return self._from_addr().uri.user

    @property
    def from_host(self) -> str | None:
        return self._from_addr().uri.host

    @property
    def from_display(self) -> str | None:
        return self._from_addr().display

    @property
    def from_tag(self) -> str | None:
        return self._from_addr().params.get("tag")

    @property
    def to_user(self) -> str | None:
        return self._to_addr().uri.user

    @property
    def to_host(self) -> str | None:
        return self._to_addr().uri.host

    @property
    def to_tag(self) -> str | None:
        return self._to_addr().params.get("tag")

    @property
    def contact_user(self) -> str | None:
        return self._contact_addr().uri.user

    @property
    def contact_host(self) -> str | None:
        return self._contact_addr().uri.host

    @property
    def ruri_user(self) -> str | None:
        return self._ruri_parsed().user

    @property
    def ruri_host(self) -> str | None:
        return self._ruri_parsed().host

    # --- top Via ------------------------------------------------------------------------------

    def _top_via(self) -> Via:
        if self._via is None:
            value = self._index.get("via")
            if value and "," in value:
                items = split_list(value)
                value = items[0] if items else None
            self._via = parse_via(value) if value else _EMPTY_VIA
        return self._via

    @property
    def via_branch(self) -> str | None:
        return self._top_via().params.get("branch")

    @property
    def via_host(self) -> str | None:
        return self._top_via().host

    @property
    def via_port(self) -> int | None:
        return self._top_via().port

    @property
    def via_transport(self) -> str | None:
        return self._top_via().transport

    @property
    def via_rport(self) -> str | None:
        """Raw rport parameter: "" when sent as a bare flag (as scanners do), the port once filled."""
        return self._top_via().params.get("rport")

    @property
    def via_received(self) -> str | None:
        return self._top_via().params.get("received")

    @property
    def via_count(self) -> int:
        return len(self.header_values("via"))

    # --- digest credentials and challenges -------------------------------------------------

    def _auth_params(self) -> dict[str, str]:
        if self._auth is None:
            value = self._index.get("authorization") or self._index.get("proxy-authorization")
            self._auth = parse_auth(value)[1] if value else {}
        return self._auth

    def _challenge_params(self) -> dict[str, str]:
        if self._challenge is None:
            value = self._index.get("www-authenticate") or self._index.get("proxy-authenticate")
            self._challenge = parse_auth(value)[1] if value else {}
        return self._challenge

    @property
    def auth_username(self) -> str | None:
        return self._auth_params().get("username")

    @property
    def auth_realm(self) -> str | None:
        return self._auth_params().get("realm")

    @property
    def auth_nonce(self) -> str | None:
        return self._auth_params().get("nonce")

    @property
    def auth_uri(self) -> str | None:
        return self._auth_params().get("uri")

    @property
    def auth_response_present(self) -> bool:
        return bool(self._auth_params().get("response"))

    @property
    def challenge_realm(self) -> str | None:
        return self._challenge_params().get("realm")

    @property
    def challenge_nonce(self) -> str | None:
        return self._challenge_params().get("nonce")

    # --- JSON -----------------------------------------------------------------------------

    def to_json(self) -> dict[str, object]:
        """All fields with None values left out; the body as text, or base64 if not UTF-8."""
        record: dict[str, object] = {"is_request": self.is_request}
        for name in JSON_FIELDS:
            value = getattr(self, name)
            if value is not None:
                record[name] = value
        record["headers"] = [[name, value] for name, value in self.headers]
        if self.body:
            try:
                record["body"] = self.body.decode("utf-8")
            except UnicodeDecodeError:
                record["body_base64"] = base64.b64encode(self.body).decode("ascii")
        record["anomalies"] = list(self.anomalies)
        return record


JSON_FIELDS = (
    "method", "status", "reason", "request_uri", "sip_version", "call_id", "cseq_number",
    "cseq_method", "from_user", "from_host", "from_display", "from_tag", "to_user", "to_host",
    "to_tag", "contact_user", "contact_host", "ruri_user", "ruri_host", "via_branch", "via_host",
    "via_port", "via_transport", "via_rport", "via_received", "via_count", "user_agent", "server",
    "auth_username", "auth_realm", "auth_nonce", "auth_uri", "auth_response_present",
    "challenge_realm", "challenge_nonce", "expires", "max_forwards", "content_type",
    "content_length",
)  # fmt: skip


# --- parsing ----------------------------------------------------------------------------------


def parse_sip(data: bytes) -> SipMessage:
    """Split a SIP message into start line, headers and body; never raises."""
    try:
        return _parse(data)
    except Exception:  # last-resort guard: the contract is "never raises" even if _parse has a bug
        return SipMessage(bytes(data), anomalies=("parser-error",))


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


def _split_head(data: bytes, anomalies: list[str]) -> tuple[bytes, bytes]:
    """Head (start line + headers) and everything after the first blank line."""
    if data[:1] in (b"\r", b"\n"):
        stripped = data.lstrip(b"\r\n")
        anomalies.append("leading-blank-lines")
        data = stripped
    crlf = data.find(b"\r\n\r\n")
    lf = data.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return data[:crlf], data[crlf + 4 :]
    if lf >= 0:
        anomalies.append("lf-only")
        return data[:lf], data[lf + 2 :]
    anomalies.append("missing-blank-line")
    return data, b""


def _parse(data: bytes) -> SipMessage:
    anomalies: list[str] = []
    if len(data) > MAX_MESSAGE:
        anomalies.append("oversize")
    head, body = _split_head(data, anomalies)
    text = _decode_head(head, anomalies)
    if "\n " in text or "\n\t" in text:
        anomalies.append("folded-header")
        text = _FOLD.sub(" ", text)
    if "\r" in text:
        lines = text.split("\r\n")
        if len(lines) - 1 != text.count("\n"):
            anomalies.append("mixed-line-ends")
            lines = [line.rstrip("\r") for line in text.split("\n")]
    else:
        lines = text.split("\n")
        if len(lines) > 1 and "lf-only" not in anomalies:
            anomalies.append("lf-only")

    message = SipMessage(data)
    first = lines[0]
    if first.startswith("SIP/"):
        version, _, rest = first.partition(" ")
        code, _, reason = rest.partition(" ")
        message.sip_version, message.reason = version, reason
        message.status = to_int(code) if len(code) == 3 else None
        if message.status is None or message.status < 100 or version != "SIP/2.0":
            anomalies.append("bad-start-line")
        del lines[0]
    elif _HEADER_START.match(first) or not first.strip():
        anomalies.append("no-start-line")
    else:
        parts = first.split(" ")
        if len(parts) != 3:
            parts = first.split()
            anomalies.append("bad-start-line")
        if len(parts) == 3 and parts[2].startswith("SIP/") and _TOKEN.fullmatch(parts[0]):
            message.is_request = True
            message._method, message.request_uri, message.sip_version = parts
            if parts[2] != "SIP/2.0" and "bad-start-line" not in anomalies:
                anomalies.append("bad-start-line")
        elif "bad-start-line" not in anomalies:
            anomalies.append("bad-start-line")
        del lines[0]

    headers = message.headers
    index = message._index
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon:
            if line.strip() and "bad-header-line" not in anomalies:
                anomalies.append("bad-header-line")
            continue
        name = canonical_name(name)
        value = value.strip()
        headers.append((name, value))
        if name not in index:
            index[name] = value
        elif name in SINGLE_VALUED and f"duplicate-header-{name}" not in anomalies:
            anomalies.append(f"duplicate-header-{name}")

    length_text = index.get("content-length")
    if length_text is not None:
        length = to_int(length_text)
        if length is None:
            anomalies.append("bad-content-length")
        elif len(body) < length:
            anomalies.append("body-truncated")
        elif len(body) > length:
            anomalies.append("trailing-bytes")
            body = body[:length]
    message.body = body
    if "call-id" not in index:
        anomalies.append("missing-call-id")
    if "cseq" not in index:
        anomalies.append("missing-cseq")
    message.anomalies = tuple(anomalies)
    return message


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
            if buffer[pos] in (0x0D, 0x0A):
                start = pos
                while pos < len(buffer) and buffer[pos] in (0x0D, 0x0A):
                    pos += 1
                if buffer[start:pos].count(b"\n") >= 2 or pos - start >= 4:
                    self.keepalives += 1
                continue
            if not looks_like_sip(buffer[pos : pos + _MAX_LINE]):
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
        lf = buffer.find(b"\n\n", pos)
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
