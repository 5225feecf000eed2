"""Web UI checks: which vendor serves it, and ONE default-credential attempt, lockout-aware.

Rules of etiquette (reference notes §13): never more than one credential attempt per phone and run,
none when the page says the UI is locked, none again within the hold-off (Yealink locks its UI for
~10 minutes after 3 failures), and none where the vendor's default is "no password" (Snom: looking
is enough). The ledger is shared by every task of a run, so a phone named twice is tried once.

Flows: Yealink is Greenbone's form login; Poly is `GET /auth.htm` with HTTP Basic `Admin/456` (the
flow of ztgrace/changeme `creds/http/phone/polycom_vvx_500.yml`, credentials as in the reference notes
§5); no Poly lockout is documented. Fanvil is never tried: its `admin/admin` default is unverified and
neither its login flow nor its lockout is documented, so guessing could lock a phone (§5).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass
from pathlib import Path

from phonewarden.audit.http_client import HttpResponse, request

LOCKED_MARKERS = ("locked", "too many", "try again later")
FANVIL_NOT_TRIED = (
    "no attempt sent: Fanvil's admin/admin default is unverified and its login flow and lockout are"
    " undocumented; log in by hand once or lint the config (MMI_Account admin Password)"
)


@dataclass(frozen=True)
class LoginResult:
    status: str  # "default-works", "default-refused", "no-password", "not-tried", "inconclusive"
    detail: str
    attempts: int  # credential attempts sent (0 or 1)


class LoginLedger:
    """Who was sent a credential attempt and when; optionally kept in a JSON file across runs."""

    def __init__(self, holdoff_seconds: float, path: Path | None = None) -> None:
        self.holdoff = holdoff_seconds
        self.path = path
        self.lock = asyncio.Lock()
        self.attempts: dict[str, float] = {}
        if path is not None and path.is_file():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                self.attempts = {str(k): float(v) for k, v in loaded.items()}
            except (ValueError, AttributeError):
                self.attempts = {}  # a damaged ledger only costs a hold-off, never an extra attempt in-run

    async def claim(self, host: str) -> str | None:
        """Reserve the one attempt for `host`; a reason string when it must not be tried now."""
        async with self.lock:
            now = time.time()
            last = self.attempts.get(host)
            if last is not None and now - last < self.holdoff:
                waited, holdoff = int(now - last), int(self.holdoff)
                return f"a credential attempt was sent {waited} s ago; next one allowed after {holdoff} s"
            self.attempts[host] = now
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                recent = {h: t for h, t in self.attempts.items() if now - t < self.holdoff}
                self.path.write_text(json.dumps(recent), encoding="utf-8")
            return None


def vendor_from_page(response: HttpResponse | None) -> str | None:
    if response is None:
        return None
    text = (response.headers.get("server", "") + " " + response.body[:4096]).lower()
    for vendor, markers in (
        ("yealink", ("yealink",)),
        ("snom", ("snom",)),
        ("grandstream", ("grandstream",)),
        ("poly", ("polycom", "poly ")),
        ("fanvil", ("fanvil",)),
    ):
        if any(marker in text for marker in markers):
            return vendor
    return None


async def check_default_login(
    host: str, port: int, use_tls: bool, vendor: str | None, ledger: LoginLedger, timeout: float
) -> LoginResult:
    if vendor == "snom":
        page = await request(host, port, "GET", "/", use_tls=use_tls, timeout=timeout)
        if page is None:
            return LoginResult("not-tried", "web UI did not answer", 0)
        if page.status == 401:
            return LoginResult("default-refused", "web UI asks for a password (none is the Snom default)", 0)
        return LoginResult("no-password", f"web UI answers {page.status} without any password", 0)
    if vendor == "fanvil":
        return LoginResult("not-tried", FANVIL_NOT_TRIED, 0)
    if vendor not in ("yealink", "grandstream", "poly"):
        return LoginResult("not-tried", f"no verified default-login flow for vendor {vendor or 'unknown'}", 0)
    if vendor == "yealink":
        form = await request(
            host, port, "GET", "/servlet?p=login&q=loginForm&jumpto=status", use_tls=use_tls, timeout=timeout
        )
        if form is not None and any(m in form.body.lower() for m in LOCKED_MARKERS):
            return LoginResult("not-tried", "web UI says it is locked: no attempt sent", 0)
    if vendor == "poly":  # a credential only goes to a page that demands Basic auth
        challenge = await request(host, port, "GET", "/auth.htm", use_tls=use_tls, timeout=timeout)
        if challenge is None or challenge.status != 401:
            seen = "no answer" if challenge is None else f"HTTP {challenge.status}"
            return LoginResult(
                "inconclusive", f"/auth.htm gave {seen} without credentials: no attempt sent", 0
            )
    refusal = await ledger.claim(host)
    if refusal is not None:
        return LoginResult("not-tried", refusal, 0)
    response = await _attempt(host, port, use_tls, vendor, timeout)
    if response is None:
        return LoginResult("not-tried", "the login request got no answer", 1)
    works = _default_accepted(vendor, response)
    credentials = {"yealink": "admin/admin", "grandstream": "admin/admin", "poly": "Admin/456"}[vendor]
    if vendor == "poly" and response.status not in (200, 401):  # no Basic-auth page here: prove nothing
        return LoginResult(
            "inconclusive", f"{credentials} sent, but /auth.htm answered HTTP {response.status}", 1
        )
    if works:
        return LoginResult(
            "default-works", f"{credentials} accepted by the web UI (HTTP {response.status})", 1
        )
    return LoginResult(
        "default-refused", f"{credentials} refused (HTTP {response.status}); one attempt sent", 1
    )


async def _attempt(host: str, port: int, use_tls: bool, vendor: str, timeout: float) -> HttpResponse | None:
    if vendor == "yealink":  # the form login Greenbone's check uses
        return await request(
            host,
            port,
            "POST",
            "/servlet?p=login&q=login",
            use_tls=use_tls,
            timeout=timeout,
            body="username=admin&pwd=admin&jumpto=status&acc=",
        )
    if vendor == "grandstream":
        return await request(
            host,
            port,
            "POST",
            "/cgi-bin/dologin",
            use_tls=use_tls,
            timeout=timeout,
            body="username=admin&password=admin",
        )
    token = base64.b64encode(b"Admin:456").decode()
    return await request(
        host,
        port,
        "GET",
        "/auth.htm",
        use_tls=use_tls,
        timeout=timeout,
        headers={"Authorization": f"Basic {token}"},
    )


def _default_accepted(vendor: str, response: HttpResponse) -> bool:
    if vendor == "yealink":
        location = response.headers.get("location", "")
        return response.status in (301, 302, 303) and "p=status" in location
    if vendor == "grandstream":
        return '"response":"success"' in response.body.replace(" ", "")
    return response.status == 200
