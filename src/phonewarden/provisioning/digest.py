"""HTTP digest (RFC 7616, MD5 + qop=auth: what Yealink, Snom and Grandstream phones speak) per device.

The user name is the MAC, the password the device's generated digest secret. Nonces are stateless: a
timestamp and an HMAC with a per-process key, valid `NONCE_TTL_S`; a replayed old nonce is stale.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

NONCE_TTL_S = 300
REALM = "phonewarden-provisioning"
_KEY = secrets.token_bytes(32)
_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^\s,]+))')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def new_nonce(now: float | None = None) -> str:
    stamp = f"{int(now if now is not None else time.time()):x}"
    return stamp + "." + hmac.new(_KEY, stamp.encode(), hashlib.sha256).hexdigest()[:32]


def challenge(now: float | None = None) -> str:
    return f'Digest realm="{REALM}", qop="auth", algorithm=MD5, nonce="{new_nonce(now)}"'


def parse(header: str) -> dict[str, str]:
    if header[:7].lower() != "digest ":
        return {}
    return {
        m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _PARAM.finditer(header[7:])
    }


def _nonce_fresh(nonce: str, now: float) -> bool:
    stamp, _, mac = nonce.partition(".")
    expected = hmac.new(_KEY, stamp.encode(), hashlib.sha256).hexdigest()[:32]
    try:
        issued = int(stamp, 16)
    except ValueError:
        return False
    return hmac.compare_digest(mac, expected) and 0 <= now - issued <= NONCE_TTL_S


def response_for(
    username: str, password: str, method: str, uri: str, nonce: str, nc: str, cnonce: str
) -> str:
    ha1 = _md5(f"{username}:{REALM}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    return _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")


def verify(header: str | None, method: str, uri: str, username: str, password: str, now: float) -> str:
    """ "ok", "missing" (no digest header) or "bad" (wrong user, URI, response or a stale nonce)."""
    if not header:
        return "missing"
    params = parse(header)
    if not params:
        return "missing"
    needed = ("username", "nonce", "uri", "response", "nc", "cnonce")
    if any(name not in params for name in needed) or params.get("qop") != "auth":
        return "bad"
    if (
        params["username"].lower() != username
        or params["uri"] != uri
        or not _nonce_fresh(params["nonce"], now)
    ):
        return "bad"
    expected = response_for(username, password, method, uri, params["nonce"], params["nc"], params["cnonce"])
    return "ok" if hmac.compare_digest(expected, params["response"].lower()) else "bad"
