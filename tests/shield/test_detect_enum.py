from __future__ import annotations

from phonewarden.shield.detect_enum import EnumerationDetector
from phonewarden.shield.findings import Reporter
from phonewarden.shield.transactions import Outcome
from tests.shield.records import request


def _outcome(status: int, target: str, credentials: bool = False) -> Outcome:
    message = request("198.51.100.8", 0.0, user=target).body
    return Outcome("198.51.100.8", "REGISTER", status, target, target, credentials, False, None, message)


def _detector(limit: int = 10) -> EnumerationDetector:
    return EnumerationDetector(Reporter("enumeration", 300, 100, 3), limit, 300, 100)


def test_ten_distinct_unknown_users_are_enumeration() -> None:
    detector = _detector()
    results = [detector.observe(_outcome(404, str(100 + n)), float(n)) for n in range(10)]
    assert results[:9] == [None] * 9
    assert results[9] is not None and results[9].evidence["distinct_users"] == 10


def test_the_same_unknown_user_again_and_again_is_not() -> None:
    detector = _detector()
    assert all(detector.observe(_outcome(404, "100"), float(n)) is None for n in range(50))


def test_challenges_of_twenty_existing_users_behind_one_nat_are_not() -> None:
    detector = _detector()
    assert all(detector.observe(_outcome(401, str(2000 + n)), n / 20) is None for n in range(20))


def test_forbidden_without_credentials_counts() -> None:
    detector = _detector(limit=3)
    results = [detector.observe(_outcome(403, str(n)), float(n)) for n in range(3)]
    assert results[2] is not None


def _challenged(limit: int = 30) -> EnumerationDetector:
    return EnumerationDetector(Reporter("enumeration", 300, 100, 3), 10, 300, 100, challenged_limit=limit)


def test_many_users_only_ever_challenged_are_enumeration_against_alwaysauthreject() -> None:
    detector = _challenged()
    results = [detector.observe(_outcome(401 if n % 2 else 407, str(100 + n)), n / 10) for n in range(40)]
    found = [(n, r) for n, r in enumerate(results) if r is not None]
    assert [n for n, _ in found] == [29]  # the 30th distinct user; once per window
    finding = found[0][1]
    assert finding.evidence["distinct_users"] == 30 and "challenged" in finding.reason
    assert len(finding.evidence["samples"]) == 3


def test_a_source_that_answers_challenges_with_credentials_is_not() -> None:
    detector = _challenged()
    assert detector.observe(_outcome(200, "100", credentials=True), 0.0) is None
    assert all(detector.observe(_outcome(401, str(200 + n)), 1 + n / 10) is None for n in range(60))


def test_challenge_counting_is_off_without_a_limit() -> None:
    detector = _detector()
    assert all(detector.observe(_outcome(401, str(300 + n)), n / 10) is None for n in range(60))
