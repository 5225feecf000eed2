from __future__ import annotations

import json
from pathlib import Path

import pytest

from phonewarden.audit.checks_config import accounts, check_config, firmware_of
from phonewarden.audit.configs import parse_config_text, read_config
from phonewarden.audit.policy_rules import CHECK_IDS
from phonewarden.audit.results import Status
from tests.audit.conftest import DATA

EXPECTED = {
    k: v for k, v in json.loads((DATA / "expected.json").read_text()).items() if not k.startswith("_")
}


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_each_fixture_gives_its_known_answers(fixture: str) -> None:
    results = check_config(read_config(DATA / fixture), 0.0)
    assert [r.check for r in results] == list(CHECK_IDS)
    assert {r.check: r.status.value for r in results} == EXPECTED[fixture]


def test_every_vendor_has_a_fixture() -> None:
    vendors = {read_config(DATA / fixture).vendor.value for fixture in EXPECTED}
    assert vendors == {"yealink", "snom", "grandstream", "poly", "fanvil"}


def _yealink(text: str) -> dict[str, Status]:
    config = parse_config_text(Path("t.cfg"), "#!version:1.0.0.1\n" + text)
    return {r.check: r.status for r in check_config(config, 0.0)}


def test_failing_detail_names_the_file_line_and_fix() -> None:
    config = parse_config_text(
        Path("p/y.cfg"), "#!version:1.0.0.1\naccount.1.user_name = 1\naccount.1.srtp_encryption = 1\n"
    )
    srtp = next(r for r in check_config(config, 0.0) if r.check == "srtp-not-required")
    assert srtp.status is Status.FAIL
    assert "p/y.cfg:3: account.1.srtp_encryption = 1" in srtp.detail
    assert srtp.remediation == "set account.1.srtp_encryption = 2"


def test_absent_key_with_unknown_default_is_unknown_not_pass() -> None:
    assert _yealink("account.1.user_name = 1\n")["bluetooth-enabled"] is Status.UNKNOWN
    assert _yealink("features.bluetooth_enable = 0\n")["bluetooth-enabled"] is Status.PASS


def test_legacy_yealink_transport_key_and_accounts() -> None:
    assert (
        _yealink("account.1.user_name = 1\naccount.1.transport = 2\n")["sip-transport-not-tls"] is Status.PASS
    )
    assert (
        _yealink("account.1.user_name = 1\naccount.2.user_name = 2\naccount.1.transport = 2\n")[
            "sip-transport-not-tls"
        ]
        is Status.FAIL
    )
    assert _yealink("features.bluetooth_enable = 0\n")["sip-transport-not-tls"] is Status.UNKNOWN


def test_wifi_in_use_passes_and_weekly_update_counts() -> None:
    assert (
        _yealink("static.wifi.enable = 1\nstatic.wifi.1.ssid = office\n")["wifi-enabled-unused"]
        is Status.PASS
    )
    assert _yealink("static.auto_provision.weekly.enable = 1\n")["auto-update-disabled"] is Status.PASS


def test_provisioning_url_schemes() -> None:
    key = "static.auto_provision.server.url"
    assert _yealink(f"{key} = https://p.example.test/\n")["provisioning-over-http"] is Status.PASS
    assert _yealink(f"{key} = ftp://p.example.test/\n")["provisioning-over-http"] is Status.FAIL
    assert (
        _yealink(f"{key} = https://u:p@p.example.test/\n")["provisioning-credentials-in-url"] is Status.FAIL
    )
    assert _yealink("features.bluetooth_enable = 0\n")["provisioning-credentials-in-url"] is Status.UNKNOWN


def test_public_static_address_is_exposed() -> None:
    key = "static.network.internet_port.ip"
    assert _yealink(f"{key} = 10.1.2.3\n")["exposed-to-internet"] is Status.PASS
    assert _yealink(f"{key} = 85.214.20.30\n")["exposed-to-internet"] is Status.FAIL
    assert _yealink(f"{key} = dhcp\n")["exposed-to-internet"] is Status.UNKNOWN


def test_firmware_from_the_firmware_url() -> None:
    config = parse_config_text(Path("t.cfg"), "static.firmware.url = http://h/fw/T42S-66.84.0.10.rom\n")
    assert firmware_of(config) == ("T42S", "66.84.0.10")
    assert accounts(config) == []
