from pathlib import Path

import pytest

from phonewarden.settings import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(__import__("os").environ):
        if name.startswith("PHONEWARDEN_"):
            monkeypatch.delenv(name)


def test_defaults_put_sqlite_in_the_data_dir() -> None:
    settings = load_settings()
    assert settings.data_dir == Path("var")
    assert settings.database_url == "sqlite:///var/phonewarden.db"
    assert (settings.console.host, settings.console.port) == ("127.0.0.1", 8080)
    assert (settings.hep.host, settings.hep.port) == ("127.0.0.1", 9060)


def test_toml_file_then_environment_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "custom.toml"
    config.write_text('log_level = "debug"\n[hep]\nport = 9070\ntransports = ["udp"]\n')
    assert load_settings(config).hep.port == 9070
    monkeypatch.setenv("PHONEWARDEN_HEP__PORT", "9071")
    settings = load_settings(config)
    assert settings.hep.port == 9071
    assert settings.hep.transports == ["udp"]
    assert settings.log_level == "debug"


def test_local_phonewarden_toml_is_found_without_flag(tmp_path: Path) -> None:
    (tmp_path / "phonewarden.toml").write_text('data_dir = "state"\n')
    assert load_settings().database_url == "sqlite:///state/phonewarden.db"


def test_wrong_values_name_the_key_and_the_accepted_values(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('log_level = "loud"\n[hep]\nport = 70000\n[consol]\nport = 1\n')
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    message = str(caught.value)
    assert "log_level (got 'loud')" in message and "'debug', 'info', 'warning' or 'error'" in message
    assert "hep.port (got 70000)" in message and "65535" in message
    assert "consol" in message and "not permitted" in message
    assert str(config) in message


def test_wrong_environment_value_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHONEWARDEN_HEP__TRANSPORTS", '["sctp"]')
    with pytest.raises(SettingsError, match=r"hep.transports.0 .*'udp' or 'tcp'"):
        load_settings()


def test_broken_toml_and_missing_file_are_clear_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[hep\nport = 1")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(broken)
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_explicit_database_url_is_kept() -> None:
    settings = Settings(database_url="postgresql+psycopg://u@h/db")
    assert settings.database_url == "postgresql+psycopg://u@h/db"
