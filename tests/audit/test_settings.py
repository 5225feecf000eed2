from __future__ import annotations

from pathlib import Path

import pytest

from phonewarden.settings import SettingsError, load_settings


def test_defaults_and_env_override(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().audit.concurrency == 64
    monkeypatch.setenv("PHONEWARDEN_AUDIT__GHOST_CALL", "true")
    assert load_settings().audit.ghost_call is True


def test_wrong_values_name_the_key(clean_env: Path) -> None:
    (clean_env / "phonewarden.toml").write_text("[audit]\nrate_per_second = 0\nlogin = true\n")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "audit.rate_per_second" in str(caught.value) and "audit.login" in str(caught.value)
