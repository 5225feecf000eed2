"""Secrets at rest: generated passwords, Fernet sealing, key loading and the errors that name the fix."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from phonewarden.provisioning.secrets_box import (
    DEMO_KEY_FILE,
    PASSWORD_ALPHABET,
    Secret,
    SecretBox,
    SecretKeyError,
    generate_password,
    generate_pin,
    load_box,
    new_key,
)
from phonewarden.provisioning.settings import ProvisioningSettings


def test_generated_passwords_are_strong_distinct_and_config_safe() -> None:
    values = [generate_password(24).reveal() for _ in range(200)]
    assert len(set(values)) == 200
    for value in values:
        assert len(value) == 24 and set(value) <= set(PASSWORD_ALPHABET)
        assert any(c.islower() for c in value) and any(c.isupper() for c in value)
        assert sum(c.isdigit() for c in value) >= 2
    pins = [generate_pin().reveal() for _ in range(200)]
    assert all(len(p) == 6 and p.isdigit() and len(set(p)) > 2 for p in pins)


def test_a_secret_never_shows_in_repr_str_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret("hunter2-Very-Secret")
    logging.getLogger("test").warning("value %s %r %s", secret, secret, [secret])
    assert "hunter2" not in caplog.text and "Secret(***)" in caplog.text
    assert secret == Secret("hunter2-Very-Secret") and secret != Secret("other")


def test_sealed_secrets_open_only_with_their_key() -> None:
    box, other = SecretBox(new_key().encode()), SecretBox(new_key().encode())
    token = box.seal(Secret("sip-Pass-42"))
    assert "sip-Pass-42" not in token
    assert box.open(token).reveal() == "sip-Pass-42"
    with pytest.raises(SecretKeyError, match="encryption key differs"):
        other.open(token)
    with pytest.raises(SecretKeyError, match="not a Fernet key"):
        SecretBox(b"too-short")


def test_load_box_refuses_to_work_without_a_key_outside_demo(tmp_path: Path) -> None:
    with pytest.raises(SecretKeyError, match="provision keygen"):
        load_box(ProvisioningSettings(), tmp_path)
    missing = tmp_path / "nope.key"
    with pytest.raises(SecretKeyError, match=str(missing)):
        load_box(ProvisioningSettings(encryption_key_file=missing), tmp_path)
    key_file = tmp_path / "prov.fernet"
    key = new_key()
    key_file.write_text(key + "\n")
    sealed = SecretBox(key.encode()).seal(Secret("x1"))
    assert (
        load_box(ProvisioningSettings(encryption_key_file=key_file), tmp_path).open(sealed).reveal() == "x1"
    )


def test_demo_mode_keeps_one_private_key_in_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = load_box(ProvisioningSettings(demo=True), data)
    token = first.seal(Secret("demo-pass"))
    key_path = data / DEMO_KEY_FILE
    assert key_path.stat().st_mode & 0o777 == 0o600
    assert load_box(ProvisioningSettings(demo=True), data).open(token).reveal() == "demo-pass"
