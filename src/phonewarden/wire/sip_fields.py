"""Header lookup and the lazily derived fields of a SIP message (call_id, from_user, via_branch, ...).

The header block is kept as decoded text. A field read before the full header list exists is
answered by one precompiled regex search for that header's first line, so reading two or three
fields of a message never splits all of its headers; the list and the index are built on first
need, with one `findall` over the block.
"""

from __future__ import annotations

import re

from phonewarden.wire.sip_values import (
    NO_ADDR,
    NO_URI,
    NO_VIA,
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


def split_headers(head: str, start: int = 0) -> list[tuple[str, str]]:
    """(canonical name, stripped value) of every line with a colon in head[start:], in wire order.
    A split loop: measured faster than one findall, whose character classes sre scans slowly."""
    cached = _CANON_CACHE.get
    headers = []
    for line in head[start:].split("\n"):
        name, colon, value = line.partition(":")
        if colon:  # `or`: names not cached yet, and "" (which canonicalises to itself)
            headers.append((cached(name) or canonical_name(name), value.strip()))
    return headers


def _first_line_pattern(canon: str) -> re.Pattern[str]:
    """The first line of header canon (or its compact form), its value stripped as str.strip() does:
    [^\\S\\n] and \\S are exactly the characters strip() removes and keeps ("" when the group is None).

    Exact on ASCII text only, where IGNORECASE is what str.lower() does; beyond ASCII it would also
    match look-alikes such as the Kelvin sign, so other text goes to the full index instead."""
    names = [canon] + [short for short, long in COMPACT_FORMS.items() if long == canon]
    alternatives = "|".join(re.escape(name) for name in names)
    return re.compile(rf"\n[^\S\n]*(?i:{alternatives})[^\S\n]*:[^\S\n]*(.*\S)?")


_FIRST_LINE = {
    canon: _first_line_pattern(canon)
    for canon in (
        "call-id", "cseq", "from", "to", "via", "contact", "user-agent", "server", "max-forwards",
        "content-type", "content-length", "expires", "authorization", "proxy-authorization",
        "www-authenticate", "proxy-authenticate",
    )
}  # fmt: skip
_CALL_ID_LINE = _FIRST_LINE["call-id"]
_CSEQ_LINE = _FIRST_LINE["cseq"]


class SipFields:
    """Header access and the derived fields of a SIP message, computed on first access.

    Each structured header is parsed at most once and cached in a private slot, so reading
    call_id and user_agent costs a regex search each and reading all fields parses each header once.
    """

    __slots__ = (
        "_auth", "_challenge", "_contact", "_from", "_head", "_head_start", "_headers", "_index",
        "_ruri", "_to", "_via", "request_uri",
    )  # fmt: skip

    def _init_fields(self, head: str, head_start: int, request_uri: str | None) -> None:
        """Set up the slots (SipMessage.__init__ calls it)."""
        # decoded, unfolded head text; from head_start on, the header lines, each after a "\n"
        self._head = head
        self._head_start = head_start
        self.request_uri = request_uri
        self._headers: list[tuple[str, str]] | None = None  # (canonical name, value) in wire order
        self._index: dict[str, str] | None = None  # canonical name -> first value
        self._from: NameAddr | None = None
        self._to: NameAddr | None = None
        self._contact: NameAddr | None = None
        self._ruri: Uri | None = None
        self._via: Via | None = None
        self._auth: dict[str, str] | None = None
        self._challenge: dict[str, str] | None = None

    def _set_headers(self, headers: list[tuple[str, str]]) -> dict[str, str]:
        self._headers = headers
        self._index = index = dict(reversed(headers))  # reversed: the first occurrence wins
        return index

    def _full_index(self) -> dict[str, str]:
        index = self._index
        if index is None:
            index = self._set_headers(split_headers(self._head, self._head_start))
        return index

    def _first(self, canon: str) -> str | None:
        """First value of a header by canonical name, without building the index if possible."""
        index = self._index
        if index is not None:
            return index.get(canon)
        head = self._head
        pattern = _FIRST_LINE.get(canon)
        if pattern is None or not head.isascii():  # isascii is O(1) on str
            return self._full_index().get(canon)
        match = pattern.search(head, self._head_start)
        return None if match is None else match.group(1) or ""

    @property
    def headers(self) -> list[tuple[str, str]]:
        """(canonical name, raw value) in wire order."""
        headers = self._headers
        if headers is None:
            self._full_index()
            headers = self._headers
            assert headers is not None
        return headers

    def header(self, name: str) -> str | None:
        """First value of a header (any case, compact form accepted)."""
        return self._first(_CANON_CACHE.get(name) or canonical_name(name))

    def header_values(self, name: str) -> list[str]:
        """All values of a header in order; comma-joined Via/Contact/Route values are split."""
        canon = canonical_name(name)
        values = [value for header_name, value in self.headers if header_name == canon]
        if canon in LIST_VALUED:
            return [item for value in values for item in split_list(value)]
        return values

    # --- start line and plain headers -------------------------------------------------------

    # call_id and cseq are read from every message the shield sees: _first is written out in them, which
    # saves a call per read (same result: the index if built, else the precompiled search on ASCII text).

    @property
    def call_id(self) -> str | None:
        if self._index is None and self._head.isascii():
            match = _CALL_ID_LINE.search(self._head, self._head_start)
            return None if match is None else match.group(1) or ""
        return self._first("call-id")

    @property
    def cseq(self) -> str | None:
        """The CSeq value as sent ("1 REGISTER"): header("cseq") without the name lookup."""
        if self._index is None and self._head.isascii():
            match = _CSEQ_LINE.search(self._head, self._head_start)
            return None if match is None else match.group(1) or ""
        return self._first("cseq")

    def call_id_and_cseq(self) -> tuple[str | None, str | None]:
        """(call_id, cseq) in one call: both are read from every message the shield sees."""
        if self._index is None:
            head = self._head
            if head.isascii():
                start = self._head_start
                call_id = _CALL_ID_LINE.search(head, start)
                cseq = _CSEQ_LINE.search(head, start)
                return (
                    None if call_id is None else call_id.group(1) or "",
                    None if cseq is None else cseq.group(1) or "",
                )
        return self._first("call-id"), self._first("cseq")

    @property
    def cseq_number(self) -> int | None:
        cseq = self.cseq
        return to_int(cseq.split(None, 1)[0]) if cseq and cseq.strip() else None

    @property
    def cseq_method(self) -> str | None:
        parts = (self._first("cseq") or "").split()
        return parts[1] if len(parts) > 1 else None

    @property
    def user_agent(self) -> str | None:
        return self._first("user-agent")

    @property
    def server(self) -> str | None:
        return self._first("server")

    @property
    def max_forwards(self) -> int | None:
        return to_int(self._first("max-forwards"))

    @property
    def content_type(self) -> str | None:
        return self._first("content-type")

    @property
    def content_length(self) -> int | None:
        return to_int(self._first("content-length"))

    @property
    def expires(self) -> int | None:
        """Expires header, else the ;expires= parameter of the first Contact."""
        expires = to_int(self._first("expires"))
        return expires if expires is not None else to_int(self._contact_addr().params.get("expires"))

    # --- addresses ------------------------------------------------------------------------

    def _addr(self, name: str) -> NameAddr:
        value = self._first(name)
        return parse_name_addr(value) if value else NO_ADDR

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
            self._contact = parse_name_addr(contacts[0]) if contacts else NO_ADDR
        return self._contact

    def _ruri_parsed(self) -> Uri:
        if self._ruri is None:
            self._ruri = parse_uri(self.request_uri) if self.request_uri else NO_URI
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
            value = self._first("via")
            if value and "," in value:
                items = split_list(value)
                value = items[0] if items else None
            self._via = parse_via(value) if value else NO_VIA
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
            value = self._first("authorization") or self._first("proxy-authorization")
            self._auth = parse_auth(value)[1] if value else {}
        return self._auth

    def _challenge_params(self) -> dict[str, str]:
        if self._challenge is None:
            value = self._first("www-authenticate") or self._first("proxy-authenticate")
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

    # --- all at once ------------------------------------------------------------------------

    def _header_fields(self) -> tuple[object, ...]:
        """JSON_FIELDS from call_id on, in order: the values of the properties above, computed
        in one pass for to_json (a property call each costs as much as the parsing)."""
        index = self._full_index()
        cseq = (index.get("cseq") or "").split()
        from_, to, contact = self._from_addr(), self._to_addr(), self._contact_addr()
        ruri, via, auth, challenge = (
            self._ruri_parsed(),
            self._top_via(),
            self._auth_params(),
            self._challenge_params(),
        )
        expires = to_int(index.get("expires"))
        return (
            index.get("call-id"), to_int(cseq[0]) if cseq else None, cseq[1] if len(cseq) > 1 else None,
            from_.uri.user, from_.uri.host, from_.display, from_.params.get("tag"),
            to.uri.user, to.uri.host, to.params.get("tag"), contact.uri.user, contact.uri.host,
            ruri.user, ruri.host, via.params.get("branch"), via.host, via.port, via.transport,
            via.params.get("rport"), via.params.get("received"), self.via_count,
            index.get("user-agent"), index.get("server"),
            auth.get("username"), auth.get("realm"), auth.get("nonce"), auth.get("uri"),
            bool(auth.get("response")),
            challenge.get("realm"), challenge.get("nonce"),
            expires if expires is not None else to_int(contact.params.get("expires")),
            to_int(index.get("max-forwards")), index.get("content-type"), to_int(index.get("content-length")),
        )  # fmt: skip
