from __future__ import annotations

from pathlib import Path

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.fraud.rating import DATA_DIR, TYPE_NAMES, Rater, TableError, load_tariff
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


@pytest.mark.parametrize(
    ("dialled", "e164", "country"),
    [
        ("0053512345678", "53512345678", "CU"),  # too long for Cuba's patterns: still Cuba
        ("003712123456", "3712123456", "LV"),
        ("0044207946000", "44207946000", "GB"),
        ("00255999", "255999", "TZ"),
        ("0099912345", "99912345", ""),  # no such country code: phonenumbers refuses it
        ("+999123", "999123", ""),
    ],
)
def test_invalid_numbers_abroad_stay_international(
    rater: Rater, dialled: str, e164: str, country: str
) -> None:
    rating = rater.rate(dialled)
    assert (rating.scope, rating.international) == ("invalid", True)
    assert (rating.e164, rating.country) == (e164, country)
    assert rating.risk in ("medium", "high")


def test_home_numbers_are_not_international_valid_or_not(rater: Rater) -> None:
    assert not rater.rate("030123456").international
    assert not rater.rate("0301").international and rater.rate("0301").scope == "invalid"
    assert not rater.rate("+4930123456").international
    assert not rater.rate("112").international and not rater.rate("1001").international


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


def _reference(rater: Rater, dialled: str) -> tuple[str, str, str, bool]:
    """What phonenumbers says with its three separate calls: (e164, region, type, valid)."""
    number = phonenumbers.parse(dialled, rater.region)
    kind = TYPE_NAMES.get(phonenumbers.number_type(number), "unknown")
    region = phonenumbers.region_code_for_number(number) or ""
    return (
        f"{number.country_code}{number.national_number}",
        region,
        kind,
        phonenumbers.is_valid_number(number),
    )


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["00", "0", "+"]), st.text(alphabet="0123456789", min_size=7, max_size=15))
def test_one_regex_pass_rates_like_three_phonenumbers_calls(prefix: str, digits: str) -> None:
    """The miss path calls number_type once and derives validity from it; it must agree with
    number_type + is_valid_number + region_code_for_number called separately."""
    rater = Rater(FraudSettings(home_region="DE"))
    dialled = prefix + digits
    rating = rater.rate(dialled)
    if rating.scope in ("internal", "emergency") or rating.number_type == "satellite":
        return
    try:
        e164, region, kind, valid = _reference(rater, dialled)
    except phonenumbers.NumberParseException:
        assert rating.scope == "invalid"
        # after "+" or the international prefix "00" it is international all the same
        assert rating.international == dialled.startswith(("+", "00"))
        return
    code = phonenumbers.parse(dialled, rater.region).country_code
    if not valid and not region:  # an invalid number: its country code's main region
        region = phonenumbers.region_code_for_country_code(code or 0).replace("ZZ", "")
    assert rating.e164 == e164 and rating.country == region and rating.number_type == kind
    assert (rating.scope != "invalid") == valid
    assert rating.international == (code != 49)


def test_long_numbers_skip_the_emergency_check_only_beyond_the_longest_emergency_number() -> None:
    rater = Rater(FraudSettings(home_region="DE"))
    assert rater.rate("110").scope == "emergency"
    assert rater.rate("+49110").scope != "emergency"
    assert 3 <= rater._emergency_len <= 6
