"""[provisioning] settings: defaults, validation errors that name the setting, environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from phonewarden.provisioning.settings import GateDefaults, ProvisioningSettings, check_network
from phonewarden.settings import load_settings


def test_networks_are_normalized_and_bad_ones_named() -> None:
    assert GateDefaults(networks=[" 10.20.1.7/16 ", "2001:db8::1/64"]).networks == [
        "10.20.0.0/16",
        "2001:db8::/64",
    ]
    with pytest.raises(ValidationError, match=r"'10\.300\.0\.0/16' is not an IP network"):
        GateDefaults(networks=["10.300.0.0/16"])
    with pytest.raises(ValueError, match="'bogus'"):
        check_network("bogus")


def test_public_url_must_be_https_and_loses_its_trailing_slash() -> None:
    assert ProvisioningSettings(public_url="https://prov.example.test/").public_url == (
        "https://prov.example.test"
    )
    with pytest.raises(ValidationError, match="public_url must start with https://"):
        ProvisioningSettings(public_url="http://prov.example.test")


@pytest.mark.parametrize(
    ("field", "value"),
    [("port", 0), ("password_length", 8), ("enum_failures", 1), ("kamailio_htable", "1bad;drop"),
     ("unknown_setting", 1)],
)  # fmt: skip
def test_out_of_range_settings_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        ProvisioningSettings.model_validate({field: value})


def test_gate_rules_come_from_toml_and_the_key_from_the_environment(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / "phonewarden.toml").write_text(
        '[provisioning]\nport = 9443\n[provisioning.gate]\nmax_fetches = 7\nnetworks = ["10.1.0.0/16"]\n'
    )
    monkeypatch.setenv("PHONEWARDEN_PROVISIONING__ENCRYPTION_KEY", "k" * 44)
    prov = load_settings().provisioning
    assert (prov.port, prov.gate.max_fetches, prov.gate.networks) == (9443, 7, ["10.1.0.0/16"])
    assert prov.encryption_key == "k" * 44
    assert "k" * 44 not in repr(prov)
