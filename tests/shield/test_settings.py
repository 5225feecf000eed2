from __future__ import annotations

from pathlib import Path

import pytest

from phonewarden.settings import SettingsError, load_settings
from phonewarden.shield.settings import ShieldSettings


def test_defaults_are_safe() -> None:
    settings = ShieldSettings()
    assert settings.enforcers == [] and not settings.dry_run
    assert settings.ban_s <= settings.max_ban_s


def test_toml_section_and_environment(
    tmp_path: Path, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "pw.toml"
    config.write_text('[shield]\nnever_block = ["198.51.100.7/24"]\nenforcers = ["nftables", "kamailio"]\n')
    monkeypatch.setenv("PHONEWARDEN_SHIELD__AUTH_FAILURES", "7")
    settings = load_settings(config)
    assert settings.shield.never_block == ["198.51.100.0/24"]
    assert settings.shield.enforcers == ["nftables", "kamailio"]
    assert settings.shield.auth_failures == 7


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('never_block = ["10.0.0.300/8"]', "never_block"),
        ('enforcers = ["iptables"]', "enforcers"),
        ("ban_s = 0", "ban_s"),
        ("max_ban_s = 60", "max_ban_s"),
        ('nft_table = "x; drop"', "nft_table"),
        ("tresholds = 1", "tresholds"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, clean_env: Path, toml: str, message: str) -> None:
    config = tmp_path / "pw.toml"
    config.write_text(f"[shield]\n{toml}\n")
    with pytest.raises(SettingsError, match=message):
        load_settings(config)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("flood_method_requests = { INVITE = 60 }", r"flood_method_requests\[INVITE\] \(60\) is above"),
        ('flood_method_requests = { "IN VITE" = 5 }', "not a SIP method name"),
        ("flood_method_requests = { INVITE = 0 }", "flood_method_requests"),
    ],
)
def test_bad_per_method_flood_limits_are_named(
    tmp_path: Path, clean_env: Path, toml: str, message: str
) -> None:
    config = tmp_path / "pw.toml"
    config.write_text(f"[shield]\n{toml}\n")
    with pytest.raises(SettingsError, match=message):
        load_settings(config)


def test_per_method_flood_limits_from_the_environment(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHONEWARDEN_SHIELD__FLOOD_METHOD_REQUESTS", '{"invite": 10, "options": 40}')
    assert load_settings().shield.flood_method_requests == {"INVITE": 10, "OPTIONS": 40}
