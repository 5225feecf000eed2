from __future__ import annotations

import pytest

from phonewarden.audit.passwords import weakness


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("", "empty"),
        ("admin", "well-known"),
        ("0000", "well-known"),
        ("aaaaaaaaaaaa", "repeated"),
        ("Kx9!a", "shorter than 10"),
        ("123498765432", "digits only"),
        ("abcdefghijkl", "one kind"),
    ],
)
def test_weak_passwords_say_why(password: str, reason: str) -> None:
    assert reason in (weakness(password) or "")


def test_strong_password_and_user_name_match() -> None:
    assert weakness("Vb7#kq2LmPz9") is None
    assert "user name" in (weakness("alice-Example9", "alice-example9") or "")
