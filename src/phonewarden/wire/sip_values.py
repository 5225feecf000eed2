"""Tolerant parsers for the structured SIP header values (URIs, name-addr, Via, Digest, lists).

Each function takes a raw header value and never raises: parts it cannot find come back as None,
so a hostile or broken header degrades to "unknown" instead of losing the whole message.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import unquote

# the quoted value unrolled ("[^"\\]*(?:\\.[^"\\]*)*): sre runs an alternation per character slowly
_AUTH_PARAM = re.compile(r'([A-Za-z][\w.-]*)\s*=\s*("[^"\\]*(?:\\.[^"\\]*)*"?|[^\s,]*)', re.ASCII)
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
_QUOTED_TEXT = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)  # quoted text up to its closing quote
_LIST_SPECIAL = re.compile(r'[",<>\\]')  # the only characters that change split_list's state
# Fast paths for the common shapes; anything else (escapes, %, ?, IPv6, odd brackets) takes the
# general code, which gives the same result for these shapes too.
_PLAIN_SIP_URI = re.compile(
    r"([sS][iI][pP][sS]?):(?:([^:@;?%\s]*)(?::[^@;?%\s]*)?@)?([^:;?@%\[\]\s]+)(?::([0-9]{1,10}))?(?:;([^?@%\s]*))?"
)
_PLAIN_NAME_ADDR = re.compile(r'(?:"([^"\\]*)"\s*|([^"<]*))<([^<>]*)>[^;]*(?:;(.*))?', re.DOTALL)
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


NO_URI = Uri(None, None, None, None, {})
NO_ADDR = NameAddr(None, NO_URI, {})
NO_VIA = Via(None, None, None, {})


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
    plain = _PLAIN_SIP_URI.fullmatch(text)
    if plain is not None:
        return _plain_uri(*plain.groups())
    scheme, colon, rest = text.partition(":")
    if not colon or not scheme.isalpha():
        return NO_URI
    scheme = scheme.lower()
    if scheme == "tel":
        number, _, params = rest.partition(";")
        return Uri(scheme, _unquote(number) or None, None, None, parse_params(params))
    if scheme not in ("sip", "sips"):
        return Uri(scheme, None, None, None, {})
    rest = rest.partition("?")[0]
    at = rest.rfind("@")
    user: str | None = None
    if at >= 0:
        user = _unquote(rest[:at].partition(":")[0]) or None
        rest = rest[at + 1 :]
    hostport, _, params = rest.partition(";")
    host, port = split_host_port(hostport)
    return Uri(scheme, user, host, port, parse_params(params) if params else {})


def _plain_uri(scheme: str, user: str | None, host: str, port: str | None, params: str | None) -> Uri:
    return Uri(
        scheme.lower(),
        user or None,
        host,
        int(port) if port else None,
        parse_params(params) if params else {},
    )


def parse_name_addr(text: str) -> NameAddr:
    """`"Display" <uri>;params`, `Display <uri>;params` or a bare `uri;params` (params then belong
    to the header, RFC 3261 §20). Unterminated quotes or brackets take the rest of the value."""
    text = text.strip()
    plain = _PLAIN_NAME_ADDR.fullmatch(text)
    if plain is not None:
        return _plain_name_addr(*plain.groups())
    display: str | None = None
    if text.startswith('"'):
        end = _closing_quote(text)
        display = text[1:end]
        if "\\" in display:
            display = _QUOTED_PAIR.sub(r"\1", display)
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


def _plain_name_addr(quoted: str | None, token: str | None, uri: str, params: str | None) -> NameAddr:
    display = quoted if quoted is not None else (token or "").strip() or None  # token: None if quoted
    return NameAddr(display, parse_uri(uri), parse_params(params) if params else {})


def _closing_quote(text: str) -> int:
    """Index of the quote ending the quoted string opened at 0 (len(text) if unterminated)."""
    match = _QUOTED_TEXT.match(text, 1)  # always matches: each part of the pattern may be empty
    end = match.end() if match else len(text)
    return end if end < len(text) and text[end] == '"' else len(text)  # else a lone trailing "\\"


def _unquote(text: str) -> str:
    return unquote(text) if "%" in text else text  # skips a call that would change nothing


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
    start = skip = 0
    for match in _LIST_SPECIAL.finditer(text):  # jumps between the characters that matter
        i = match.start()
        if i < skip:
            continue  # escaped by a backslash inside quotes
        char = match.group()
        if in_quotes:
            if char == "\\":
                skip = i + 2
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
    items.append(text[start:].strip())
    return [item for item in items if item]
