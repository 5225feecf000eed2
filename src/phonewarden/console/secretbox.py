"""Encryption at rest for TOTP secrets: Fernet with a key file kept beside the database."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

KEY_FILE_NAME = "console.key"


class SecretBoxError(Exception):
    """The key file is missing, unreadable or does not match the stored secrets."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def in_dir(cls, data_dir: Path) -> SecretBox:
        """The box whose key lives in data_dir/console.key, created (mode 0600) when missing."""
        path = data_dir / KEY_FILE_NAME
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as key_file:
                key_file.write(Fernet.generate_key())
        try:
            return cls(path.read_bytes().strip())
        except (OSError, ValueError) as exc:
            raise SecretBoxError(f"console key file {path} is unusable: {exc}") from None

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SecretBoxError(
                f"a stored secret does not match the key file ({KEY_FILE_NAME}); was it replaced?"
            ) from None
