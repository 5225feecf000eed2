"""Request <-> response matching: what each source asked and what the server answered.

A request is remembered by (Call-ID, CSeq number, method) until its final answer or Timer B (32 s, RFC 3261
17.1.1.2). The final response yields an `Outcome` for the request's source: the basis of brute-force,
enumeration and trust decisions, which packet counters (pike) and log scrapers (fail2ban) cannot see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from phonewarden.core.windows import TtlMap
from phonewarden.shield.findings import describe

TIMER_B_S = 32.0
_CONTACT_EXPIRES = re.compile(r";\s*expires\s*=\s*([0-9]{1,10})", re.IGNORECASE)


# Final answers that say something about the asker; other ones (486, 500, ...) are matched and dropped.
TELLING = frozenset({401, 403, 404, 407, 484, 604})


@dataclass(slots=True)
class Pending:
    source: str  # source key
    message: Any  # the request; its users and credentials are only read if the answer is telling


@dataclass(slots=True)
class Outcome:
    source: str
    method: str
    status: int
    user: str | None
    target: str | None
    credentials: bool
    stale: bool  # a 401/407 that says the nonce was stale: a retry, not a failure
    expires: int | None  # REGISTER 2xx: seconds the binding lasts
    request: Any

    @property
    def summary(self) -> str:
        return f"{describe(self.request)} -> {self.status}"

    @property
    def failed_auth(self) -> bool:
        if self.status in (401, 407):
            return self.credentials and not self.stale
        return self.status == 403 and self.method in ("REGISTER", "INVITE", "SUBSCRIBE", "MESSAGE")

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status < 300


def target_of(message: Any) -> str | None:
    user = (message.to_user or message.from_user) if message.method == "REGISTER" else None
    user = user or message.ruri_user or message.to_user
    return str(user) if user is not None else None


class TransactionMatcher:
    def __init__(self, max_pending: int) -> None:
        self.pending: TtlMap[tuple[str, int, str], Pending] = TtlMap(TIMER_B_S, max_pending)
        self.unmatched = 0

    def request(self, key: str, message: Any, now: float, call_id: str | None, cseq: int | None) -> None:
        """Remember a request (call_id and cseq as the caller already read them: each read is a search)."""
        method = message.method
        if method in ("ACK", "CANCEL") or call_id is None or cseq is None:
            return
        self.pending.set((call_id, cseq, method), Pending(key, message), now)

    def response(self, message: Any, now: float) -> Outcome | None:
        status = message.status
        if status is None or status < 200:
            return None
        call_id, cseq_text = message.call_id, message.header("cseq")
        parts: list[str] = cseq_text.split() if call_id is not None and cseq_text else []
        if len(parts) != 2 or not parts[0].isdigit():
            return None
        method = parts[1].upper()
        pending = self.pending.pop((call_id, int(parts[0]), method), now)
        if pending is None:
            self.unmatched += 1
            return None
        request = pending.message
        # Presence of the header is enough here; the Digest parameters are parsed only when a user is needed.
        credentials = request.header("authorization") is not None or (
            request.header("proxy-authorization") is not None
        )
        if status not in TELLING and not (credentials or method == "REGISTER"):
            return None  # e.g. 200 to an OPTIONS ping: nothing to learn about the asker
        target = target_of(request)
        stale = False
        if status in (401, 407):
            challenge = message.header("www-authenticate") or message.header("proxy-authenticate") or ""
            stale = "stale=true" in challenge.lower().replace(" ", "").replace('"', "")
        return Outcome(
            pending.source,
            method,
            status,
            (request.auth_username if credentials else None) or target,
            target,
            credentials,
            stale,
            _expires(message) if method == "REGISTER" and 200 <= status < 300 else None,
            request,
        )


def _expires(message: Any) -> int | None:
    contact = message.header("contact")
    if contact:
        found = _CONTACT_EXPIRES.search(contact)
        if found:
            return int(found.group(1))
    expires = message.expires
    return int(expires) if isinstance(expires, int) else None
