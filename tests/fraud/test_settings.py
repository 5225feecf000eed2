from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from phonewarden.fraud.settings import FraudSettings
from phonewarden.settings import SettingsError, load_settings


def test_defaults_are_the_documented_ones() -> None:
    settings = FraudSettings()
    assert [w.seconds for w in settings.windows] == [300, 900, 3600, 86400]
    assert settings.restrict_hours == {1: 12.0, 2: 24.0, 3: 24.0} and settings.warmup_days == 14


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"restrict_hours": {1: 1.0}}, "levels 1, 2 and 3"),
        ({"cdr_timezone": "Mars/Olympus"}, "not a known time zone"),
        ({"tariff_path": "/nonexistent.csv"}, "does not exist"),
        ({"windows": [{"seconds": 300, "max_cost": 1, "max_minutes": 1}] * 2}, "distinct lengths"),
        ({"thresholds": 1}, "Extra inputs"),
    ],
)
def test_bad_values_name_the_problem(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FraudSettings(**values)  # type: ignore[arg-type]


def test_toml_section_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    config = tmp_path / "pw.toml"
    config.write_text('[fraud]\nhome_region = "gb"\nack_timeout_minutes = 5\n')
    monkeypatch.setenv("PHONEWARDEN_FRAUD__REPORT_ONLY", "true")
    settings = load_settings(config).fraud
    assert (settings.home_region, settings.ack_timeout_minutes, settings.report_only) == ("GB", 5.0, True)
    config.write_text("[fraud]\nbaseline_weeks = 50\n")
    with pytest.raises(SettingsError, match=r"fraud\.baseline_weeks"):
        load_settings(config)
