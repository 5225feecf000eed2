"""The common first segment of a phone-home connection, read without the general HTTP framer.

Most plain-HTTP requests a device sends arrive as one TCP segment holding exactly one complete request
(head and a Content-Length body). `whole_request` turns such a segment into the kernel's HttpRequest at
a fraction of the framer's cost; anything else (chunked, a split or pipelined request, an Upgrade,
folded or malformed header lines, LF-only line ends, a repeated Host or Content-Length) returns None and
the caller uses the kernel's framer, which handles it all.
"""

from __future__ import annotations

import re

from phonewarden.wire.http import HttpRequest

_TCHARS = "!#$%&'*+.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-"
_REQUEST_LINE = re.compile(r"([" + re.escape(_TCHARS) + r"]{1,32}) ([^\x00-\x20\x7f]+) (HTTP/1\.[01])")
_WHOLE_BODY_LIMIT = 64 * 1024  # the kernel framer's max_body_bytes: longer bodies go to the framer
_REFUSED = frozenset({"transfer-encoding", "upgrade"})


def whole_request(payload: bytes) -> HttpRequest | None:
    """The request if `payload` is exactly one complete CRLF-framed request with a known length."""
    head_end = payload.find(b"\r\n\r\n")
    if head_end < 0 or head_end + 4 > _WHOLE_BODY_LIMIT:
        return None
    head = payload[:head_end].decode("latin-1")
    crlf = head.count("\r\n")
    if head.count("\n") != crlf or head.count("\r") != crlf:
        return None  # a bare CR or LF: the framer's line rules apply
    lines = head.split("\r\n")
    start = _REQUEST_LINE.fullmatch(lines[0])
    if start is None or start.group(1) == "CONNECT":
        return None
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name.strip(_TCHARS):
            return None  # not a token before the colon (obs-fold, a space before the colon, junk)
        headers.append((name.lower(), value.strip(" \t")))
    fields = dict(headers)
    if len(fields) != len(headers) and _repeated(headers):
        return None
    if not _REFUSED.isdisjoint(fields):
        return None
    length_text = fields.get("content-length", "0")
    body = payload[head_end + 4 :]
    if not (length_text.isdigit() and length_text.isascii()) or len(body) != int(length_text):
        return None
    if "host" not in fields:
        return None
    method, target, version = start.groups()
    return HttpRequest(method, target, version, fields["host"], headers, body, len(body))


def _repeated(headers: list[tuple[str, str]]) -> bool:
    """Host or Content-Length given twice: the framer decides what that means."""
    names = [name for name, _ in headers if name in ("host", "content-length")]
    return len(names) != len(set(names))
