from __future__ import annotations

from phonewarden.shield.detect_bruteforce import BruteForceDetector
from phonewarden.shield.findings import Reporter
from phonewarden.shield.transactions import Outcome
from tests.shield.records import request


def _outcome(
    status: int, *, credentials: bool = True, user: str = "alice", source: str = "198.51.100.7"
) -> Outcome:
    message = request(source, 0.0, user=user, auth=credentials).body
    return Outcome(source, "REGISTER", status, user, user, credentials, False, None, message)


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


def _bots(count: int) -> list[str]:
    return [f"203.0.113.{n}" for n in range(1, count + 1)]


def test_guesses_at_one_username_spread_over_addresses_are_a_finding_on_each_later_guesser() -> None:
    detector = _detector()
    bots = _bots(8)
    # two guesses each from the first two addresses, one each from the rest: none reaches 5 by itself
    guesses = [bots[0], bots[0], bots[1], bots[1], *bots[2:]]
    results = [detector.observe(_outcome(403, source=bot), float(n)) for n, bot in enumerate(guesses)]
    assert results[:4] == [None] * 4
    first = results[4]
    assert first is not None and first.source == bots[2] and first.severity == "high"
    assert "'alice'" in first.reason and "3 sources" in first.reason
    assert first.evidence["guessers"] == bots[:3] and first.evidence["source_failures"] == 1
    assert [r.source for r in results[5:] if r is not None] == bots[3:]


def test_a_bot_already_reported_is_not_reported_again_within_the_window() -> None:
    detector = _detector()
    for n, bot in enumerate(_bots(5)):
        detector.observe(_outcome(403, source=bot), float(n))
    assert detector.observe(_outcome(403, source=_bots(5)[-1]), 6.0) is None


def test_failures_for_different_usernames_from_different_addresses_are_not_added_up() -> None:
    detector = _detector()
    outcomes = [_outcome(403, user=f"user{n}", source=bot) for n, bot in enumerate(_bots(20))]
    assert all(detector.observe(outcome, float(n)) is None for n, outcome in enumerate(outcomes))


def test_refusals_without_credentials_name_no_username_to_count() -> None:
    # a 403 to a REGISTER without credentials is a failure of that source, not a password guess at alice
    detector = _detector()
    outcomes = [_outcome(403, credentials=False, source=bot) for bot in _bots(20)]
    assert all(detector.observe(outcome, float(n)) is None for n, outcome in enumerate(outcomes))


def test_spread_guesses_beyond_the_window_are_not_a_finding() -> None:
    detector = _detector(window=60)
    outcomes = [_outcome(403, source=bot) for bot in _bots(9)]
    assert all(detector.observe(outcome, n * 30.0) is None for n, outcome in enumerate(outcomes))


def test_success_from_a_guesser_of_a_username_under_spread_attack_is_critical() -> None:
    detector = _detector()
    for n, bot in enumerate(_bots(6)):
        detector.observe(_outcome(403, source=bot), float(n))
    finding = detector.observe(_outcome(200, source=_bots(6)[3]), 7.0)
    assert finding is not None and finding.severity == "critical" and "guessed" in finding.reason
    assert finding.source == _bots(6)[3] and finding.evidence["failures"] == 6


def test_the_owner_succeeding_while_others_guess_her_password_is_not_critical() -> None:
    detector = _detector()
    for n, bot in enumerate(_bots(6)):
        detector.observe(_outcome(403, source=bot), float(n))
    assert detector.observe(_outcome(200, source="198.51.100.20"), 7.0) is None


def test_the_username_table_is_bounded() -> None:
    detector = BruteForceDetector(Reporter("brute-force", 600, 10, 3), 5, 600, 10)
    for n in range(100):
        detector.observe(_outcome(403, user=f"user{n}", source=f"203.0.113.{n % 50 + 1}"), float(n))
    assert len(detector.user_failures) <= 10 and len(detector.guessers) <= 10


def test_the_guessers_before_the_crossing_can_be_reported_each_once() -> None:
    detector = _detector()
    bots = _bots(3)
    findings = [detector.observe(_outcome(403, source=bot), float(n)) for n, bot in enumerate((bots * 2)[:5])]
    crossing = findings[-1]
    assert findings[:4] == [None] * 4 and crossing is not None and crossing.source == bots[1]
    earlier = detector.earlier_guessers(crossing)
    assert [(f.source, f.evidence["user"], f.evidence["source_failures"]) for f in earlier] == [
        (bots[2], "alice", 1),
        (bots[0], "alice", 2),
    ]
    assert detector.earlier_guessers(crossing) == []  # once per window each
    assert detector.observe(_outcome(403, source=bots[2]), 6.0) is None


def test_a_per_source_finding_has_no_earlier_guessers() -> None:
    detector = _detector()
    findings = [detector.observe(_outcome(403), float(n)) for n in range(5)]
    assert findings[-1] is not None and detector.earlier_guessers(findings[-1]) == []
