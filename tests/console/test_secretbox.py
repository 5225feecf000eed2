from __future__ import annotations

import stat
from pathlib import Path

import pytest

from phonewarden.console.secretbox import KEY_FILE_NAME, SecretBox, SecretBoxError


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    sealed = SecretBox.in_dir(tmp_path).seal("JBSWY3DPEHPK3PXP")
    assert "JBSWY3DPEHPK3PXP" not in sealed
    assert stat.S_IMODE((tmp_path / KEY_FILE_NAME).stat().st_mode) == 0o600
    assert SecretBox.in_dir(tmp_path).open(sealed) == "JBSWY3DPEHPK3PXP"


def test_a_replaced_key_is_a_clear_error(tmp_path: Path) -> None:
    sealed = SecretBox.in_dir(tmp_path / "a").seal("secret")
    with pytest.raises(SecretBoxError, match="does not match the key file"):
        SecretBox.in_dir(tmp_path / "b").open(sealed)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / KEY_FILE_NAME).write_text("not a key")
    with pytest.raises(SecretBoxError, match="unusable"):
        SecretBox.in_dir(tmp_path / "c")
