from __future__ import annotations

from phonewarden.fraud.policy import Policy
from phonewarden.fraud.records import Alert
from phonewarden.fraud.restrictions import RestrictionBook
from phonewarden.fraud.settings import FraudSettings


def _alert(
    severity: str, detector: str = "baseline", reason: str = "x", destination: str = "", chained: bool = False
) -> Alert:
    return Alert(
        time=1000.0,
        account="a",
        detector=detector,
        severity=severity,
        reason=reason,
        destination=destination,
        chained=chained,
    )


def test_critical_restricts_at_once_and_chain_goes_to_level_3() -> None:
    policy = Policy(FraudSettings(), RestrictionBook())
    (restriction,) = policy.decide(_alert("critical"))
    assert (restriction.level, restriction.until) == (2, 1000.0 + 24 * 3600)
    chained = Policy(FraudSettings(), RestrictionBook()).decide(_alert("critical", chained=True))
    assert chained[0].level == 3
    # The flag decides, not the wording of the reason.
    worded = Policy(FraudSettings(), RestrictionBook()).decide(_alert("critical", reason="shield finding"))
    assert worded[0].level == 2


def test_high_needs_ack_else_level_1_after_timeout() -> None:
    policy = Policy(FraudSettings(ack_timeout_minutes=15), RestrictionBook())
    assert policy.decide(_alert("high")) == []
    assert policy.tick(1000.0 + 899) == []
    (restriction,) = policy.tick(1000.0 + 900)
    assert restriction.level == 1 and restriction.reason.startswith("unacknowledged for 15 min")
    acked = Policy(FraudSettings(), RestrictionBook())
    acked.decide(_alert("high"))
    assert acked.acknowledge("a") and acked.tick(10_000.0) == []


def test_medium_and_report_only_never_restrict() -> None:
    assert Policy(FraudSettings(), RestrictionBook()).decide(_alert("medium")) == []
    assert Policy(FraudSettings(report_only=True), RestrictionBook()).decide(_alert("critical")) == []


def test_wangiri_blocks_the_number_not_the_caller() -> None:
    book = RestrictionBook()
    (block,) = Policy(FraudSettings(), book).decide(_alert("high", "wangiri", destination="18765550123"))
    assert block.account == "*" and block.destination == "18765550123" and book.level("a", 1001) == 0
