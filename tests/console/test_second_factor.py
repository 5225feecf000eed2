from __future__ import annotations

import time

import pyotp

from phonewarden.console import second_factor


def test_totp_accepts_the_current_code_and_one_step_of_drift_only() -> None:
    secret = second_factor.new_totp_secret()
    totp = pyotp.TOTP(secret)
    now = 1_800_000_015.0  # inside step 60,000,000
    assert second_factor.verify_totp(secret, totp.at(now), now=now) == 60_000_000
    assert second_factor.verify_totp(secret, totp.at(now - 30), now=now) == 59_999_999
    assert second_factor.verify_totp(secret, totp.at(now + 30), now=now) == 60_000_001
    assert second_factor.verify_totp(secret, totp.at(now - 120), now=now) is None
    assert second_factor.verify_totp(secret, "12345", now=now) is None
    assert second_factor.verify_totp(secret, "abcdef", now=now) is None


def test_a_totp_code_works_once() -> None:
    secret = second_factor.new_totp_secret()
    code = pyotp.TOTP(secret).now()
    used = second_factor.verify_totp(secret, code)
    assert used is not None
    assert second_factor.verify_totp(secret, code, after_step=used) is None
    assert (
        second_factor.verify_totp(secret, pyotp.TOTP(secret).at(time.time() + 30), after_step=used)
        == used + 1
    )


def test_enrolment_uri_and_qr_codes() -> None:
    uri = second_factor.enrolment_uri("alice", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    assert (
        uri == "otpauth://totp/phonewarden:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=phonewarden"
    )
    assert "█" in second_factor.terminal_qr(uri)
    assert second_factor.svg_qr(uri).startswith("<svg")


def test_recovery_codes_are_distinct_and_normalise() -> None:
    codes = second_factor.new_recovery_codes()
    assert len(set(codes)) == second_factor.RECOVERY_CODES
    assert all(len(code) == 14 and code.count("-") == 2 for code in codes)
    assert second_factor.normalise_recovery_code(f"  {codes[0].upper()} ") == codes[0]
    assert second_factor.digest(codes[0]) != second_factor.digest(codes[1])
