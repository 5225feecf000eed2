"""The `[console]` settings: knobs reach the running console, bad values are named, plain-HTTP warnings."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from phonewarden.console.app import create_app
from phonewarden.console.models import ConsoleAudit
from phonewarden.console.settings import ConsoleSettings
from phonewarden.settings import Settings, SettingsError, load_settings
from phonewarden.store.engine import session_factory
from phonewarden.store.migrate import upgrade


def test_toml_knobs_reach_the_app(clean_env: Path) -> None:
    config = clean_env / "phonewarden.toml"
    config.write_text("[console]\nidle_timeout_minutes = 3\nlock_after_failures = 7\n")
    settings = load_settings(config)
    assert settings.console.idle_timeout_minutes == 3
    app = create_app(settings.model_copy(update={"data_dir": clean_env / "var"}), start_hep=False)
    assert app.state.console.policy.idle_timeout_s == 180
    assert app.state.console.policy.lock_after == 7


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[console]\nidle_timeout_minutes = 0\n", "console.idle_timeout_minutes"),
        ("[console]\ntrusted_proxies = ['proxy.example']\n", "console.trusted_proxies"),
        ("[console]\nsession_minutes = 3\n", "console.session_minutes"),
    ],
)
def test_bad_console_values_are_named(clean_env: Path, text: str, named: str) -> None:
    config = clean_env / "phonewarden.toml"
    config.write_text(text)
    with pytest.raises(SettingsError, match=named.replace(".", r"\.")):
        load_settings(config)


def test_transport_warning_only_off_loopback_without_a_proxy() -> None:
    assert ConsoleSettings(host="127.0.0.1").transport_warning() is None
    assert ConsoleSettings(host="::1").transport_warning() is None
    assert ConsoleSettings(host="localhost").transport_warning() is None
    secure = ConsoleSettings(host="0.0.0.0").transport_warning()
    assert secure is not None and "Secure session cookie" in secure
    clear = ConsoleSettings(host="0.0.0.0", secure_cookies=False).transport_warning()
    assert clear is not None and "clear text" in clear
    assert ConsoleSettings(host="0.0.0.0", trusted_proxies=["192.0.2.1"]).transport_warning() is None


def _failed_login_source(settings: Settings, forwarded_for: str) -> str:
    upgrade(settings.database_url)
    app = create_app(settings, start_hep=False)
    with TestClient(app, base_url="https://testserver", client=("127.0.0.1", 40000)) as http:
        http.post("/login", data={"name": "nobody", "password": "wrong-password"},
                  headers={"x-forwarded-for": forwarded_for})  # fmt: skip
    with session_factory(app.state.console.engine)() as session:
        return session.scalars(select(ConsoleAudit.source)).one()


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(clean_env: Path) -> None:
    trusting = Settings(data_dir=clean_env / "a", console=ConsoleSettings(trusted_proxies=["127.0.0.0/8"]))
    assert _failed_login_source(trusting, "198.51.100.23") == "198.51.100.23"
    sceptical = Settings(data_dir=clean_env / "b")
    assert _failed_login_source(sceptical, "198.51.100.23") == "127.0.0.1"
