"""Secrets at rest and generated passwords.

Every password the guard stores (SIP, phone admin/user, HTTP digest) is generated with `secrets` and kept
Fernet-encrypted (AES-128-CBC + HMAC-SHA256) with the key from settings. `Secret` never shows its value in
repr/str, so a log line or a traceback cannot leak it.
"""

from __future__ import annotations

import logging
import secrets
import string
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from phonewarden.provisioning.settings import ProvisioningSettings

log = logging.getLogger(__name__)
DEMO_KEY_FILE = "provisioning-demo.key"
# No quotes, <, >, &, %, spaces or brackets: the value is safe in Yealink .cfg, XML, JSON-RPC and sipp.
PASSWORD_ALPHABET = string.ascii_letters + string.digits + "-_.+!"


class SecretKeyError(Exception):
    """No usable encryption key; the message says which setting to set."""


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and secrets.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self._value)


def generate_password(length: int = 24) -> Secret:
    """A random password with lower, upper case and digits (what every phone's input accepts)."""
    while True:
        value = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))
        if (
            any(c.islower() for c in value)
            and any(c.isupper() for c in value)
            and sum(c.isdigit() for c in value) >= 2
        ):
            return Secret(value)


def generate_pin(digits: int = 6) -> Secret:
    """A keypad-lock PIN without one repeated digit (the audit calls those trivial)."""
    while True:
        value = "".join(secrets.choice(string.digits) for _ in range(digits))
        if len(set(value)) > 2:
            return Secret(value)


class SecretBox:
    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise SecretKeyError(
                "provisioning encryption key is not a Fernet key (urlsafe base64 of 32 bytes; "
                "make one with `phonewarden provision keygen`)"
            ) from exc

    def seal(self, secret: Secret) -> str:
        return self._fernet.encrypt(secret.reveal().encode()).decode("ascii")

    def open(self, token: str) -> Secret:
        try:
            return Secret(self._fernet.decrypt(token.encode("ascii")).decode())
        except InvalidToken:
            raise SecretKeyError(
                "a stored provisioning secret cannot be decrypted: the encryption key differs "
                "from the one it was stored with"
            ) from None


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def load_box(settings: ProvisioningSettings, data_dir: Path) -> SecretBox:
    """The box from settings; in demo mode a key kept in data_dir; otherwise SecretKeyError."""
    if settings.encryption_key:
        return SecretBox(settings.encryption_key.encode())
    if settings.encryption_key_file is not None:
        try:
            return SecretBox(settings.encryption_key_file.read_text().strip().encode())
        except OSError as exc:
            raise SecretKeyError(
                f"provisioning.encryption_key_file {settings.encryption_key_file}: {exc.strerror}"
            ) from None
    if not settings.demo:
        raise SecretKeyError(
            "provisioning needs an encryption key for the secrets it stores: set "
            "[provisioning] encryption_key (or encryption_key_file, or "
            "PHONEWARDEN_PROVISIONING__ENCRYPTION_KEY);"
            " make one with `phonewarden provision keygen`. For a demo only: [provisioning] demo = true"
        )
    path = data_dir / DEMO_KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(new_key())
        path.chmod(0o600)
        log.warning("provisioning: demo mode, generated an encryption key in %s", path)
    return SecretBox(path.read_text().strip().encode())
