"""TOTP enrolment (RFC 6238 via pyotp, shown as otpauth URI and QR code) and one-use recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
import time

import pyotp
import segno

ISSUER = "phonewarden"
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (i/l/1, o/0)


def new_totp_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def enrolment_uri(user_name: str, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user_name, issuer_name=ISSUER)


def terminal_qr(uri: str) -> str:
    """The URI as a QR code drawn with block characters, for `admin create`."""
    out = io.StringIO()
    segno.make(uri, error="m").terminal(out=out, compact=True)
    return out.getvalue()


def svg_qr(uri: str) -> str:
    """The URI as an inline SVG QR code for the enrolment page."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, xmldecl=False, svgns=True)
    return out.getvalue().decode()


def verify_totp(
    secret: str, code: str, after_step: int | None = None, now: float | None = None
) -> int | None:
    """The time step the code belongs to, or None. One 30 s step either side tolerates a phone clock a
    little off; a step at or before `after_step` (the last one used) is refused, so a code works once
    (RFC 6238 section 5.2)."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(time.time() if now is None else now) // totp.interval
    for step in (current - 1, current, current + 1):
        if (after_step is None or step > after_step) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    def one() -> str:
        chars = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
        return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"

    return [one() for _ in range(RECOVERY_CODES)]


def normalise_recovery_code(code: str) -> str:
    return code.strip().lower().replace(" ", "")


def digest(value: str) -> str:
    """SHA-256 of a random high-entropy value (recovery code, session id, API token)."""
    return hashlib.sha256(value.encode()).hexdigest()
