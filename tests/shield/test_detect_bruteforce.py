from __future__ import annotations

from phonewarden.shield.detect_bruteforce import BruteForceDetector
from phonewarden.shield.findings import Reporter
from phonewarden.shield.transactions import Outcome
from tests.shield.records import request


def _outcome(status: int, *, credentials: bool = True, user: str = "alice") -> Outcome:
    message = request("198.51.100.7", 0.0, user=user, auth=credentials).body
    return Outcome("198.51.100.7", "REGISTER", status, user, user, credentials, False, None, message)


def _detector(limit: int = 5, window: float = 600) -> BruteForceDetector:
    return BruteForceDetector(Reporter("brute-force", window, 100, 3), limit, window, 100)


def test_the_fifth_wrong_password_within_the_window_is_a_finding() -> None:
    detector = _detector()
    results = [detector.observe(_outcome(403, user=f"u{n % 2}"), float(n)) for n in range(5)]
    assert results[:4] == [None] * 4
    finding = results[4]
    assert finding is not None and finding.severity == "high"
    assert finding.evidence["failures"] == 5 and finding.evidence["users"] == 2
    assert (
        finding.evidence["samples"]
        == ["REGISTER sip:pbx.example.test ua=Yealink SIP-T46S 66.86.0.15 -> 403"] * 3
    )


def test_slow_failures_spread_beyond_the_window_are_not() -> None:
    detector = _detector(window=60)
    assert all(detector.observe(_outcome(401), n * 100.0) is None for n in range(10))


def test_challenges_without_credentials_are_normal() -> None:
    detector = _detector()
    assert all(detector.observe(_outcome(401, credentials=False), float(n)) is None for n in range(50))


def test_success_after_many_failures_is_critical() -> None:
    detector = _detector()
    for n in range(6):
        detector.observe(_outcome(403), float(n))
    finding = detector.observe(_outcome(200), 7.0)
    assert finding is not None and finding.severity == "critical" and "guessed" in finding.reason


def test_success_after_one_typo_is_fine() -> None:
    detector = _detector()
    detector.observe(_outcome(403), 1.0)
    assert detector.observe(_outcome(200), 2.0) is None
