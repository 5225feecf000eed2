from __future__ import annotations

from pathlib import Path

import pytest

from phonewarden.fraud.rating import DATA_DIR, Rater, TableError, load_tariff
from phonewarden.fraud.settings import FraudSettings


@pytest.fixture(scope="module")
def rater() -> Rater:
    return Rater(FraudSettings(home_region="DE", strip_prefixes=["9"]))


@pytest.mark.parametrize(
    ("dialled", "scope", "number_type", "risk", "rate"),
    [
        ("0301234567", "national", "fixed", "none", 0.01),
        ("015112345678", "national", "mobile", "none", 0.06),
        ("09001234567", "national", "premium_rate", "high", 1.50),
        ("00442071234567", "international", "fixed", "low", 0.02),
        ("0088213456789", "international", "satellite", "high", 5.00),
        ("+5352345678", "international", "mobile", "high", 0.90),
        ("90037121234567", "international", "mobile", "medium", 0.30),  # trunk prefix 9 stripped
        ("1001", "internal", "internal", "none", 0.0),
        ("112", "emergency", "emergency", "none", 0.0),
    ],
)
def test_rating(rater: Rater, dialled: str, scope: str, number_type: str, risk: str, rate: float) -> None:
    rating = rater.rate(dialled)
    assert (rating.scope, rating.number_type, rating.risk, rating.rate) == (scope, number_type, risk, rate)


def test_cost_is_rate_times_minutes(rater: Rater) -> None:
    assert rater.cost("00252612345678", 90) == pytest.approx(1.20 * 1.5)


def test_shipped_tables_carry_source_and_date() -> None:
    for name in ("tariff.csv", "risk.csv"):
        head = (DATA_DIR / name).read_text()[:1500]
        assert "# source:" in head and "# date: 2026-" in head


def test_bad_tariff_row_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("# x\nprefix,rate,description\ndefault:national,0.01,a\n49,abc,b\n")
    with pytest.raises(TableError, match=r"t.csv:4: rate 'abc' is not a number"):
        load_tariff(path)
