"""Who may ask `/authorize` and push `/cdr`: PBXs with a token from `[fraud] pbx_tokens`, checked in memory.

Both routes are exempt from the console's operator login (`SELF_AUTHENTICATED` in api.py): a PBX asks
before every call, so the check must not touch the database. The settings hold only SHA-256 digests of
the tokens (random 256-bit strings, so a fast hash is enough); a request's token is hashed and compared
with every digest in constant time. With no token configured, loopback clients are let in without one
(a PBX on the same host, a fresh install) and everyone else is refused.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from phonewarden.fraud.settings import PbxToken

TOKEN_PREFIX = "pwpbx_"


def new_token() -> str:
    """A fresh PBX token (shown once) — store only its `digest` in the settings."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@functools.lru_cache(maxsize=4096)  # ipaddress parsing is ~3 µs, a third of an authorize request
def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "testclient"  # Starlette's TestClient


def bearer(authorization: str) -> str:
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def basic_password(authorization: str) -> str:
    """The password of HTTP Basic credentials (`user:token`): what FreeSWITCH's `cred` param sends."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return ""
    return decoded.partition(":")[2]


def request_token(authorization: str, query_token: str | None) -> str:
    """The PBX token of a request: Bearer, else the Basic password, else `?token=`.

    mod_json_cdr appends `?uuid=<uuid>` to its configured URL whatever it holds, so `...?token=X`
    arrives as the value `X?uuid=...`: that tail is cut off (tokens never contain `?`)."""
    given = bearer(authorization) or basic_password(authorization)
    if given:
        return given
    return (query_token or "").partition("?")[0]


@dataclass(frozen=True, slots=True)
class Verdict:
    """`pbx`: who was let in (a token's name, or "loopback"); else `status` and `detail` say why not."""

    pbx: str | None
    status: int = 200
    detail: str = ""


class PbxTokens:
    def __init__(self, tokens: Iterable[PbxToken], extra_plain: Iterable[str] = ()) -> None:
        # (name, digest bytes); `extra_plain` are legacy plain tokens such as `[fraud] push_token`.
        self._digests = [(t.name, bytes.fromhex(t.sha256)) for t in tokens]
        self._digests += [("push_token", bytes.fromhex(digest(p))) for p in extra_plain if p]

    @property
    def configured(self) -> bool:
        return bool(self._digests)

    def check(self, token: str, client_host: str) -> Verdict:
        if not self._digests:
            if is_loopback(client_host):
                return Verdict("loopback")
            return Verdict(None, 403, "requests from other hosts need a token from [fraud] pbx_tokens")
        if not token:
            return Verdict(None, 401, "missing PBX token (Authorization: Bearer or Basic, or ?token=)")
        given = hashlib.sha256(token.encode()).digest()
        found = None
        for name, expected in self._digests:  # no early exit: the time does not depend on the match
            if hmac.compare_digest(given, expected) and found is None:
                found = name
        if found is None:
            return Verdict(None, 401, "wrong PBX token")
        return Verdict(found)
