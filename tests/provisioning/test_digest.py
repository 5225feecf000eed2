"""HTTP digest (MD5, qop=auth) per device, computed like a phone does, with stale and replayed nonces."""

from __future__ import annotations

import hashlib

from phonewarden.provisioning import digest

NOW = 1_800_000_000.0
MAC, PASSWORD, URI = "0015654c4c26", "Dig-est-Pass-99", "/0015654c4c26.cfg"


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def phone_answer(nonce: str, *, user: str = MAC, password: str = PASSWORD, uri: str = URI) -> str:
    """RFC 7616 computed independently of digest.response_for, as a phone would."""
    ha1, ha2 = md5(f"{user}:{digest.REALM}:{password}"), md5(f"GET:{uri}")
    response = md5(f"{ha1}:{nonce}:00000001:0a4f113b:auth:{ha2}")
    return (
        f'Digest username="{user}", realm="{digest.REALM}", nonce="{nonce}", uri="{uri}", '
        f'qop=auth, nc=00000001, cnonce="0a4f113b", response="{response}", algorithm=MD5'
    )


def nonce_of(challenge: str) -> str:
    return digest.parse(challenge)["nonce"]


def test_a_phone_with_the_right_password_passes() -> None:
    nonce = nonce_of(digest.challenge(NOW))
    assert digest.verify(phone_answer(nonce), "GET", URI, MAC, PASSWORD, NOW + 10) == "ok"


def test_wrong_password_user_uri_or_method_fail() -> None:
    nonce = nonce_of(digest.challenge(NOW))
    assert digest.verify(phone_answer(nonce, password="x"), "GET", URI, MAC, PASSWORD, NOW) == "bad"
    assert digest.verify(phone_answer(nonce, user="001565000000"), "GET", URI, MAC, PASSWORD, NOW) == "bad"
    assert digest.verify(phone_answer(nonce, uri="/other.cfg"), "GET", URI, MAC, PASSWORD, NOW) == "bad"
    assert digest.verify(phone_answer(nonce), "HEAD", URI, MAC, PASSWORD, NOW) == "bad"


def test_stale_forged_and_missing_nonces() -> None:
    nonce = nonce_of(digest.challenge(NOW))
    assert (
        digest.verify(phone_answer(nonce), "GET", URI, MAC, PASSWORD, NOW + digest.NONCE_TTL_S + 1) == "bad"
    )
    forged = nonce.split(".")[0] + "." + "0" * 32
    assert digest.verify(phone_answer(forged), "GET", URI, MAC, PASSWORD, NOW) == "bad"
    assert digest.verify(phone_answer("zz.00"), "GET", URI, MAC, PASSWORD, NOW) == "bad"
    assert digest.verify(None, "GET", URI, MAC, PASSWORD, NOW) == "missing"
    assert digest.verify("Basic dXNlcjpwdw==", "GET", URI, MAC, PASSWORD, NOW) == "missing"
    assert digest.verify('Digest username="x"', "GET", URI, MAC, PASSWORD, NOW) == "bad"


def test_challenge_is_what_phones_expect() -> None:
    params = digest.parse(digest.challenge(NOW))
    assert params["realm"] == digest.REALM and params["qop"] == "auth" and params["algorithm"] == "MD5"
