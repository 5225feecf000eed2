from __future__ import annotations

from phonewarden.fraud.cdr import Cdr
from phonewarden.fraud.detect import FraudDetector
from phonewarden.fraud.rating import Rater
from phonewarden.fraud.settings import FraudSettings

DAY = 86400.0
T0 = 1_767_571_200.0  # a Monday 00:00 UTC


def _detector(**overrides: object) -> FraudDetector:
    settings = FraudSettings(**overrides)  # type: ignore[arg-type]
    return FraudDetector(settings, Rater(settings))


def _call(account: str, number: str, end: float, seconds: float = 120) -> Cdr:
    return Cdr(account=account, destination=number, start=end - seconds, end=end, billsec=seconds)


def _office_history(detector: FraudDetector, account: str, weeks: int = 3) -> float:
    """Two calls to Berlin every working hour for `weeks` weeks; returns the next Monday 10:00."""
    for day in range(weeks * 7):
        if day % 7 < 5:
            for hour in range(8, 18):
                for minute in (10, 40):
                    detector.process(_call(account, "030123456", T0 + day * DAY + hour * 3600 + minute * 60))
    return T0 + weeks * 7 * DAY + 10 * 3600


def test_cold_account_single_call_gives_no_baseline_or_country_alert() -> None:
    detector = _detector()
    alerts = detector.process(_call("new", "0044207946000", T0 + 3600))
    assert alerts == []


def test_fixed_window_limit_is_critical_and_explains() -> None:
    detector = _detector()
    (alert, *_) = detector.process(_call("a", "0025261234567", T0 + 3600, seconds=1800))  # 30 min x 1.20
    assert (alert.detector, alert.severity) == ("spend-limit", "critical")
    assert "EUR 36.00 (limit EUR 15.00) in 5 min" in alert.reason and alert.estimated_cost == 36.0


def test_baseline_catches_slow_risky_spend_after_warm_up() -> None:
    detector = _detector()
    now = _office_history(detector, "office")
    alerts = []
    for n in range(4):  # Latvian mobiles at 0.30/min, 12 minutes each, back to back
        alerts += detector.process(_call("office", f"0037120000{n:03d}", now + n * 750, seconds=720))
    baseline = [a for a in alerts if a.detector == "baseline"]
    assert baseline and baseline[0].severity == "high"
    assert "normally EUR" in baseline[0].reason and "to risky destinations" in baseline[0].reason
    assert [a.detector for a in alerts if a.detector == "new-country"] == ["new-country"]


def test_usual_volume_after_warm_up_is_quiet() -> None:
    detector = _detector()
    now = _office_history(detector, "office")
    alerts = detector.process(_call("office", "030123456", now))
    assert alerts == []


def test_wangiri_needs_several_accounts_on_a_new_risky_number() -> None:
    detector = _detector(wangiri_accounts=3)
    lure = "0018765550123"
    seen = [detector.process(_call(f"acct{n}", lure, T0 + n * 60, seconds=30)) for n in range(3)]
    assert [a.detector for a in seen[2] if a.detector == "wangiri"] == ["wangiri"]
    assert seen[2][-1].destination == "18765550123"


def test_shield_finding_raises_severity() -> None:
    detector = _detector()
    detector.note_shield_finding("victim", "40 failed REGISTERs from 203.0.113.9", T0)
    (alert,) = detector.process(_call("victim", "0088213456789", T0 + 600, seconds=60))
    assert alert.detector == "high-risk-destination" and alert.severity == "high"
    assert "after shield finding on victim" in alert.reason


def test_alerts_are_not_repeated_unless_cost_doubles() -> None:
    detector = _detector()
    first = detector.process(_call("a", "0088213456789", T0 + 600, seconds=60))
    again = detector.process(_call("a", "0088213456789", T0 + 700, seconds=60))
    assert [a.detector for a in first] == ["high-risk-destination"] and again == []
