"""Operator passwords: argon2id hashes, the password policy, one-time passwords.

Policy (TeamSIP 003 asks for strong passwords): at least 12 characters, not in the shipped common-password
list (data/common-passwords.txt, its source and date in its header), and not containing the user name.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 256  # argon2 takes any length; a cap keeps a hostile form from costing memory
COMMON_PASSWORDS = Path(__file__).parent / "data" / "common-passwords.txt"

# argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile (t=3, m=64 MiB, p=4).
_HASHER = PasswordHasher()


class PasswordPolicyError(ValueError):
    """The new password breaks the policy; the message says which rule."""


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def check_policy(password: str, user_name: str) -> None:
    """Raise PasswordPolicyError naming the first rule the password breaks."""
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"the password must have at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in common_passwords():
        raise PasswordPolicyError("the password is in the list of common passwords")
    if user_name and user_name.lower() in lowered:
        raise PasswordPolicyError("the password must not contain the user name")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)


def one_time_password() -> str:
    """20 URL-safe characters (120 bits): only valid until the first login replaces it."""
    return secrets.token_urlsafe(15)


# A hash that verify_password runs against for unknown users, so timing does not reveal which names exist.
DUMMY_HASH = _HASHER.hash("phonewarden-no-such-user")
