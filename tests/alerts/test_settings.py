"""`[alerts]` from a TOML file: targets of each type, rules, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from phonewarden.alerts.settings import EmailTargetSettings, SyslogTargetSettings, WebhookTargetSettings
from phonewarden.settings import SettingsError, load_settings

GOOD = """
[alerts.targets.oncall]
type = "email"
host = "mail.example.net"
port = 465
security = "tls"
username = "pw"
password = "app-password"
from = "phonewarden@example.net"
to = ["noc@example.net"]

[alerts.targets.siem]
type = "syslog"
address = "[2001:db8::5]:6514"
transport = "tcp"

[alerts.targets.chat]
type = "webhook"
url = "https://hooks.example.net/phonewarden"
secret = "0123456789abcdef0123"

[[alerts.rules]]
guards = ["fraud"]
min_severity = "high"
kinds = ["restriction", "wangiri"]
targets = ["oncall", "siem"]
"""


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "phonewarden.toml"
    path.write_text(text)
    return load_settings(path, data_dir=tmp_path).alerts


def test_targets_and_rules_load(clean_env: Path) -> None:
    alerts = load_settings(None).alerts
    assert alerts.targets == {} and alerts.rules == []
    path = clean_env / "phonewarden.toml"
    path.write_text(GOOD)
    alerts = load_settings(path).alerts
    oncall, siem, chat = (alerts.targets[name] for name in ("oncall", "siem", "chat"))
    assert isinstance(oncall, EmailTargetSettings) and oncall.sender == "phonewarden@example.net"
    assert isinstance(siem, SyslogTargetSettings) and siem.transport == "tcp"
    assert isinstance(chat, WebhookTargetSettings)
    assert alerts.rules[0].targets == ["oncall", "siem"] and alerts.rules[0].min_severity == "high"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'targets = ["oncall", "siem"]',
            'targets = ["oncall", "pager"]',
            "rules[0].targets: unknown target 'pager'",
        ),
        ('secret = "0123456789abcdef0123"\n', "", "alerts.targets.chat.webhook.secret: Field required"),
        ('secret = "0123456789abcdef0123"', 'secret = "short"', "alerts.targets.chat.webhook.secret"),
        ('"[2001:db8::5]:6514"', '"2001:db8::5"', "alerts.targets.siem.syslog.address (got '2001:db8::5')"),
        ('"[2001:db8::5]:6514"', '"siem.example.net"', "is not host:port"),
        ('security = "tls"', 'security = "plain"', "would send the password to mail.example.net in clear"),
        ('to = ["noc@example.net"]\n', "", "alerts.targets.oncall.email.to: Field required"),
        ('type = "syslog"', 'type = "pager"', "alerts.targets.siem: Input tag 'pager'"),
    ],
)
def test_errors_name_the_key(clean_env: Path, old: str, new: str, expected: str) -> None:
    assert old in GOOD
    with pytest.raises(SettingsError) as caught:
        _load(clean_env, GOOD.replace(old, new))
    assert expected in str(caught.value)


def test_a_target_name_must_make_a_folder_name(clean_env: Path) -> None:
    text = GOOD.replace("[alerts.targets.siem]", '[alerts.targets."../siem"]').replace(
        '"siem"]', '"../siem"]'
    )
    with pytest.raises(SettingsError, match=r"targets\.\.\./siem: a target name is"):
        _load(clean_env, text)
