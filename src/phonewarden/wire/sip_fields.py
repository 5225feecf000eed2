"""Tolerant parsers for the structured SIP header values (URIs, name-addr, Via, Digest, lists).

Each function takes a raw header value and never raises: parts it cannot find come back as None,
so a hostile or broken header degrades to "unknown" instead of losing the whole message.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import unquote

_AUTH_PARAM = re.compile(r'([A-Za-z][\w.-]*)\s*=\s*("(?:[^"\\]|\\.)*"?|[^\s,]*)', re.ASCII)
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
_MAX_INT_DIGITS = 10  # a 32-bit value; longer strings are hostile and int() would get slow


class Uri(NamedTuple):
    scheme: str | None  # lowercase "sip", "sips", "tel", ... or None when there is no scheme
    user: str | None  # percent-decoded; the number for tel:
    host: str | None  # IPv6 without the brackets
    port: int | None
    params: dict[str, str]  # lowercase name -> value ("" for flags)


class NameAddr(NamedTuple):
    display: str | None
    uri: Uri
    params: dict[str, str]  # header parameters (tag, expires, ...)


class Via(NamedTuple):
    transport: str | None  # uppercase "UDP", "TCP", "TLS", "WS", ...
    host: str | None
    port: int | None
    params: dict[str, str]


_NO_URI = Uri(None, None, None, None, {})
_NO_ADDR = NameAddr(None, _NO_URI, {})
_NO_VIA = Via(None, None, None, {})

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
JSON_FIELDS = (
    "method", "status", "reason", "request_uri", "sip_version", "call_id", "cseq_number",
    "cseq_method", "from_user", "from_host", "from_display", "from_tag", "to_user", "to_host",
    "to_tag", "contact_user", "contact_host", "ruri_user", "ruri_host", "via_branch", "via_host",
    "via_port", "via_transport", "via_rport", "via_received", "via_count", "user_agent", "server",
    "auth_username", "auth_realm", "auth_nonce", "auth_uri", "auth_response_present",
    "challenge_realm", "challenge_nonce", "expires", "max_forwards", "content_type",
    "content_length",
)  # fmt: skip
_CANON_CACHE: dict[str, str] = {}  # raw header name -> canonical name; bounded below
_CANON_CACHE_MAX = 1024


def canonical_name(name: str) -> str:
    """Header name as stored: stripped, lowercase, compact forms expanded."""
    canon = _CANON_CACHE.get(name)
    if canon is None:
        canon = name.strip().lower()
        canon = COMPACT_FORMS.get(canon, canon)
        if len(_CANON_CACHE) < _CANON_CACHE_MAX:  # hostile traffic must not grow it without bound
            _CANON_CACHE[name] = canon
    return canon


def to_int(text: str | None) -> int | None:
    """Decimal ASCII digits to int, None for anything else (incl. Unicode digits int() would take)."""
    if text is None:
        return None
    text = text.strip()
    if text.isascii() and text.isdigit() and len(text) <= _MAX_INT_DIGITS:
        return int(text)
    return None


def parse_params(text: str) -> dict[str, str]:
    """`;a=b;flag` -> {"a": "b", "flag": ""}; the first occurrence of a name wins."""
    params: dict[str, str] = {}
    for part in text.split(";"):
        name, _, value = part.partition("=")
        name = name.strip().lower()
        if name and name not in params:
            params[name] = unquote_string(value.strip())
    return params


def unquote_string(text: str) -> str:
    """Strip one pair of double quotes and resolve backslash escapes inside them."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        inner = text[1:-1]
        return _QUOTED_PAIR.sub(r"\1", inner) if "\\" in inner else inner
    return text


def split_host_port(text: str) -> tuple[str | None, int | None]:
    """`host`, `host:port`, `[v6]`, `[v6]:port`; a bare IPv6 address is taken whole."""
    text = text.strip()
    if not text:
        return None, None
    if text[0] == "[":
        end = text.find("]")
        if end < 0:
            return text[1:] or None, None
        rest = text[end + 1 :]
        return text[1:end] or None, to_int(rest[1:]) if rest.startswith(":") else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host or None, to_int(port)
    return text, None


def parse_uri(text: str) -> Uri:
    """sip:/sips: `user[:password]@host[:port];params?headers`, tel: `number;params`, others: scheme only."""
    text = text.strip()
    scheme, colon, rest = text.partition(":")
    if not colon or not scheme.isalpha():
        return _NO_URI
    scheme = scheme.lower()
    if scheme == "tel":
        number, _, params = rest.partition(";")
        return Uri(scheme, unquote(number) or None, None, None, parse_params(params))
    if scheme not in ("sip", "sips"):
        return Uri(scheme, None, None, None, {})
    rest = rest.partition("?")[0]
    at = rest.rfind("@")
    user: str | None = None
    if at >= 0:
        user = unquote(rest[:at].partition(":")[0]) or None
        rest = rest[at + 1 :]
    hostport, _, params = rest.partition(";")
    host, port = split_host_port(hostport)
    return Uri(scheme, user, host, port, parse_params(params) if params else {})


def parse_name_addr(text: str) -> NameAddr:
    """`"Display" <uri>;params`, `Display <uri>;params` or a bare `uri;params` (params then belong
    to the header, RFC 3261 §20). Unterminated quotes or brackets take the rest of the value."""
    text = text.strip()
    display: str | None = None
    if text.startswith('"'):
        end = _closing_quote(text)
        display = _QUOTED_PAIR.sub(r"\1", text[1:end])
        text = text[end + 1 :].lstrip()
    lt = text.find("<")
    if lt < 0:
        uri, _, params = text.partition(";")
        return NameAddr(display, parse_uri(uri), parse_params(params) if params else {})
    if display is None:
        display = text[:lt].strip() or None
    inner = text[lt + 1 :].lstrip("<")  # tolerate `<<sip:` from broken or hostile senders
    gt = inner.find(">")
    if gt < 0:
        return NameAddr(display, parse_uri(inner), {})
    params = inner[gt + 1 :].partition(";")[2]
    return NameAddr(display, parse_uri(inner[:gt]), parse_params(params) if params else {})


def _closing_quote(text: str) -> int:
    """Index of the quote ending the quoted string opened at 0 (len(text) if unterminated)."""
    i = 1
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == '"':
            return i
        i += 1
    return len(text)


def parse_via(text: str) -> Via:
    """`SIP/2.0/UDP host:port;branch=...;rport;received=...`."""
    protocol, _, rest = text.strip().partition(" ")
    transport = protocol.rpartition("/")[2].strip().upper() or None
    sent_by, _, params = rest.partition(";")
    host, port = split_host_port(sent_by)
    return Via(transport, host, port, parse_params(params) if params else {})


def parse_auth(text: str) -> tuple[str | None, dict[str, str]]:
    """`Digest username="100", realm="x", ...` -> ("Digest", {lowercase name: unquoted value})."""
    text = text.strip()
    scheme, _, rest = text.partition(" ")
    if "=" in scheme:  # no scheme, the value starts with a parameter
        scheme, rest = "", text
    params: dict[str, str] = {}
    for match in _AUTH_PARAM.finditer(rest):
        name = match.group(1).lower()
        if name not in params:
            params[name] = unquote_string(match.group(2))
    return scheme or None, params


def split_list(text: str) -> list[str]:
    """Split a comma-joined header value, but not inside quotes or <...>."""
    if "," not in text:
        return [text.strip()] if text.strip() else []
    items: list[str] = []
    depth = 0
    in_quotes = False
    start = 0
    i = 0
    while i < len(text):
        char = text[i]
        if in_quotes:
            if char == "\\":
                i += 1
            elif char == '"':
                in_quotes = False
        elif char == '"':
            in_quotes = True
        elif char == "<":
            depth += 1
        elif char == ">":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
        i += 1
    items.append(text[start:].strip())
    return [item for item in items if item]


class SipFields:
    """The lazily derived fields of a SIP message, computed from its headers on first access.

    Each structured header is parsed at most once and cached in a private slot, so reading
    call_id and user_agent costs a dict lookup and reading all fields parses each header once.
    """

    __slots__ = (
        "_auth", "_challenge", "_contact", "_from", "_index", "_ruri", "_to", "_via", "headers",
        "request_uri",
    )  # fmt: skip

    def __init__(self, headers: list[tuple[str, str]], request_uri: str | None) -> None:
        self.headers = headers  # (canonical name, raw value) in wire order
        self.request_uri = request_uri
        index: dict[str, str] = {}
        for name, value in headers:
            index.setdefault(name, value)
        self._index = index  # canonical name -> first value
        self._from: NameAddr | None = None
        self._to: NameAddr | None = None
        self._contact: NameAddr | None = None
        self._ruri: Uri | None = None
        self._via: Via | None = None
        self._auth: dict[str, str] | None = None
        self._challenge: dict[str, str] | None = None

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
        return parse_name_addr(value) if value else _NO_ADDR

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
            self._contact = parse_name_addr(contacts[0]) if contacts else _NO_ADDR
        return self._contact

    def _ruri_parsed(self) -> Uri:
        if self._ruri is None:
            self._ruri = parse_uri(self.request_uri) if self.request_uri else _NO_URI
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
            self._via = parse_via(value) if value else _NO_VIA
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
