from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.shield.detect_tollfraud import TollFraudDetector, classify_number
from phonewarden.shield.findings import Reporter
from tests.shield.records import request


@pytest.mark.parametrize(
    ("dialled", "expected"),
    [
        ("00972599123456", "international:IL"),
        ("9011441614960000", "international:GB"),
        ("011441614960000", "international:GB"),
        ("+19005551234", "premium:US"),
        ("09001234567", "premium:DE"),
        ("030123456", None),
        ("+4930123456", None),
        ("100", None),
        ("alice", None),
    ],
)
def test_numbers_are_classified_with_libphonenumber(dialled: str, expected: str | None) -> None:
    assert classify_number(dialled, "DE") == expected


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_dialled_string_is_classified_without_error(dialled: str) -> None:
    kind = classify_number(dialled, "DE")
    assert kind is None or kind.split(":")[0] in ("international", "premium")


def _detector() -> TollFraudDetector:
    return TollFraudDetector(Reporter("toll-fraud", 600, 100, 3), 5, 600, 100, "DE")


def test_five_distinct_international_probes_without_credentials_are_a_finding() -> None:
    detector = _detector()
    numbers = [f"00972599{n:06d}" for n in range(5)]
    results = [
        detector.observe("198.51.100.4", request("198.51.100.4", n, "INVITE", ruri_user=num).body, float(n))
        for n, num in enumerate(numbers)
    ]
    assert results[:4] == [None] * 4 and results[4] is not None and results[4].severity == "high"


def test_authenticated_invites_and_national_calls_are_not_probes() -> None:
    detector = _detector()
    for n in range(10):
        authed = request("198.51.100.4", n, "INVITE", ruri_user=f"00972599{n:06d}", auth=True)
        national = request("198.51.100.4", n, "INVITE", ruri_user=f"03012345{n}")
        assert detector.observe("198.51.100.4", authed.body, float(n)) is None
        assert detector.observe("198.51.100.4", national.body, float(n)) is None
