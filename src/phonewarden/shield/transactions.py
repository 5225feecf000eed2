"""Request <-> response matching: what each source asked and what the server answered.

A request is remembered by (Call-ID, CSeq number, method) until its final answer or Timer B (32 s, RFC 3261
17.1.1.2). The final response yields an `Outcome` for the request's source: the basis of brute-force,
enumeration and trust decisions, which packet counters (pike) and log scrapers (fail2ban) cannot see.

Speed: every header read is a search through the message, so the matcher reads only Call-ID and CSeq up
front; an `Outcome`'s users, credentials parameters and `stale` flag are computed when a detector asks.
"""

from __future__ import annotations

import re
from typing import Any, cast

from phonewarden.core.windows import TtlMap
from phonewarden.shield.findings import describe

TIMER_B_S = 32.0
_CONTACT_EXPIRES = re.compile(r";\s*expires\s*=\s*([0-9]{1,10})", re.IGNORECASE)
# The common shapes `<sip:user@host...>...`, `sip:user@host;...`: the user without a parser call. Anything
# else (quotes, escapes, passwords, IPv6, '?') goes to the kernel's parser (test_transactions compares).
_USER = r"[sS][iI][pP][sS]?:([^:@;?%\s<>\"\[\]]+)@[^<>@%?\s\"]*"
_PLAIN_NAME_ADDR = re.compile(r'(?:"[^"\\]*"\s*|[^"<%]*)<' + _USER + r'>[^<>"]*')
# `Digest username="..."` first, as phones and scanners send it: the username without parsing every parameter.
_PLAIN_USERNAME = re.compile(r'[Dd][Ii][Gg][Ee][Ss][Tt][ \t]+username[ \t]*=[ \t]*"([^"\\]*)"[ \t]*(?:,|\Z)')
_PLAIN_URI = re.compile(rf"{_USER}(?:;[^<>\"]*)?")
_UNSET: Any = object()

# Final answers that say something about the asker; other ones (486, 500, ...) are matched and dropped.
TELLING = frozenset({401, 403, 404, 407, 484, 604})
CHALLENGES = frozenset({401, 407})


def plain_user(value: str | None) -> Any:
    """The user of a plain name-addr or URI, None if there is no value, `_UNSET` if it is not plain."""
    if value is None:
        return None
    match = _PLAIN_NAME_ADDR.fullmatch(value) or _PLAIN_URI.fullmatch(value)
    return _UNSET if match is None else match.group(1)


def digest_username(message: Any) -> str | None:
    """The Digest username of a request's Authorization (or Proxy-Authorization)."""
    value = message.header("authorization") or message.header("proxy-authorization")
    match = _PLAIN_USERNAME.match(value) if value else None
    return match.group(1) if match is not None else message.auth_username


def target_of(message: Any) -> str | None:
    """The user a request is about: To (or From) for REGISTER, the Request-URI's user otherwise."""
    if message.method == "REGISTER":
        user = plain_user(message.header("to"))
        if user is _UNSET:
            user = message.to_user
        user = user or message.from_user
        if user:
            return str(user)
    user = plain_user(message.request_uri)
    if user is _UNSET:
        user = message.ruri_user
    user = user or message.to_user
    return str(user) if user is not None else None


class Outcome:
    """The final answer to one request, seen from the asker; `user`, `target` and `stale` are computed on
    first read (pass them to the constructor to fix them, as tests do)."""

    __slots__ = (
        "_stale", "_target", "_user", "credentials", "expires", "method", "request", "response", "source",
        "status", "succeeded",
    )  # fmt: skip

    def __init__(
        self, source: str, method: str, status: int, user: Any, target: Any,
        credentials: bool, stale: Any, expires: int | None, request: Any, response: Any = None,
    ) -> None:  # fmt: skip
        # user, target and stale are typed Any: each is its value or _UNSET (compiled code checks types)
        self.source = source
        self.method = method
        self.status = status
        self._user: Any = user
        self._target: Any = target
        self.credentials = credentials
        self._stale: Any = stale
        self.expires = expires
        self.request = request
        self.response = response
        self.succeeded = 200 <= status < 300  # an attribute: every detector asks, most of them twice

    @property
    def target(self) -> str | None:
        target = self._target
        if target is _UNSET:
            target = self._target = target_of(self.request)
        return cast(str | None, target)

    @property
    def user(self) -> str | None:
        """The Digest username when credentials were sent, else the target."""
        user = self._user
        if user is _UNSET:
            user = self._user = (digest_username(self.request) if self.credentials else None) or self.target
        return cast(str | None, user)

    @property
    def stale(self) -> bool:
        """A 401/407 that says the nonce was stale: a retry, not a failure."""
        if self._stale is _UNSET:
            message = self.response
            challenge = message.header("www-authenticate") or message.header("proxy-authenticate") or ""
            self._stale = "stale=true" in challenge.lower().replace(" ", "").replace('"', "")
        return bool(self._stale)

    @property
    def summary(self) -> str:
        return f"{describe(self.request)} -> {self.status}"

    @property
    def failed_auth(self) -> bool:
        if self.status in CHALLENGES:
            return self.credentials and not self.stale
        return self.status == 403 and self.method in ("REGISTER", "INVITE", "SUBSCRIBE", "MESSAGE")


class TransactionMatcher:
    def __init__(self, max_pending: int) -> None:
        # value: (source key, request, whether the request may carry credentials)
        self.pending: TtlMap[tuple[str, int, str], tuple[str, Any, bool]] = TtlMap(TIMER_B_S, max_pending)
        self.unmatched = 0

    def request(
        self, key: str, message: Any, now: float, call_id: str | None, cseq: int | None,
        maybe_credentials: bool = True,
    ) -> None:  # fmt: skip
        """Remember a request (call_id and cseq as the caller already read them: each read is a search).
        `maybe_credentials=False` promises the request has no Authorization header (the caller saw no
        "authorization" in its lower-cased bytes), which saves two searches at the answer."""
        method = message.method
        if method in ("ACK", "CANCEL") or call_id is None or cseq is None:
            return
        self.pending.set((call_id, cseq, method), (key, message, maybe_credentials), now)

    def response(self, message: Any, now: float) -> Outcome | None:
        status = message.status
        if status is None or status < 200:
            return None
        call_id, cseq_text = message.call_id_and_cseq()
        parts: list[str] = cseq_text.split() if cseq_text and call_id is not None else []
        if len(parts) != 2 or not parts[0].isdigit():
            return None
        method = parts[1].upper()
        pending = self.pending.pop((call_id, int(parts[0]), method), now)
        if pending is None:
            self.unmatched += 1
            return None
        source, request, maybe_credentials = pending
        # Presence of the header is enough here; the Digest parameters are parsed only when a user is needed.
        credentials = maybe_credentials and (
            request.header("authorization") is not None or request.header("proxy-authorization") is not None
        )
        if status not in TELLING and not (credentials or method == "REGISTER"):
            return None  # e.g. 200 to an OPTIONS ping: nothing to learn about the asker
        succeeded = 200 <= status < 300
        return Outcome(
            source,
            method,
            status,
            _UNSET,
            _UNSET,
            credentials,
            _UNSET if status in CHALLENGES else False,
            _expires(message) if succeeded and method == "REGISTER" else None,
            request,
            message,
        )


def _expires(message: Any) -> int | None:
    contact = message.header("contact")
    if contact:
        found = _CONTACT_EXPIRES.search(contact)
        if found:
            return int(found.group(1))
    expires = message.expires
    return int(expires) if isinstance(expires, int) else None
