from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    assert detector.rater.rate("00442079460000").scope == "international"  # a valid London number
    alerts = detector.process(_call("new", "00442079460000", T0 + 3600))
    assert alerts == []
    # The same first call from a warm account is a new country: the cold account's quiet is the warm-up.
    warm = _detector()
    now = _office_history(warm, "office")
    assert [a.detector for a in warm.process(_call("office", "00442079460000", now))] == ["new-country"]


def test_fixed_window_limit_is_critical_and_explains() -> None:
    detector = _detector()
    alerts = []
    for channel in range(4):  # 4 parallel 30-minute calls to Somalia at 1.20/min, ending together
        alerts += detector.process(_call("a", f"002526123456{channel}", T0 + 3600 + channel, seconds=1800))
    (alert,) = [a for a in alerts if a.detector == "spend-limit"]  # from the second call on
    assert alert.severity == "critical" and alert.time == T0 + 3601
    # Two calls' last 14-15 minutes: EUR 33.62, of EUR 72 in all (the windows count whole minutes).
    assert "spent EUR 33.62 (limit EUR 30.00) in 15 min over 2 calls" in alert.reason
    assert alert.estimated_cost == pytest.approx(33.62)


@pytest.mark.parametrize(
    ("number", "minutes"),
    [("030123456", 130), ("00551133334444", 120), ("0033612345678", 150), ("00442079460000", 180)],
)
def test_one_long_call_counts_only_its_overlap_with_each_window(number: str, minutes: int) -> None:
    """A 2-3 hour conference call (national, Brazil, France, UK) is a few minutes in the last 5."""
    detector = _detector()
    alerts = detector.process(_call("conf", number, T0 + 10 * 3600, seconds=minutes * 60))
    assert not [a for a in alerts if a.severity == "critical"], alerts
    state = detector.accounts.get("conf", T0 + 10 * 3600)
    assert state is not None
    last_five = state.window.recent(300, T0 + 10 * 3600)  # whole minutes: the last 4 to 5 minutes
    assert 3.99 < last_five.minutes < 5.01 and last_five.calls == 1
    assert state.window.recent(86400, T0 + 10 * 3600).minutes == pytest.approx(minutes)


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


def test_running_calls_count_only_inside_each_window() -> None:
    detector = _detector()
    now = T0 + 10 * 3600
    state = detector.state("live", now)
    conference = [(now - 100 * 60, 0.15)]  # 100 minutes to a Brazilian landline so far: EUR 15 in all
    assert detector.over_limit(state, now, running=conference) is None
    assert detector.over_limit(state, now, extra_cost=15.01) is not None  # the whole sum, as before
    hack = [(now - 600, 5.0)] * 4  # four satellite calls, 10 minutes each so far
    broken = detector.over_limit(state, now, running=hack)
    assert broken is not None and broken[0].seconds == 300  # EUR 100 in the last 5 minutes


def test_sequential_calls_to_one_number_within_the_window() -> None:
    detector = _detector()
    alerts = []
    for n in range(20):  # 20 short calls to one Berlin number, one every 20 s
        alerts += detector.process(_call("a", "030123456", T0 + 3600 + n * 20, seconds=10))
    sequential = [a for a in alerts if a.detector == "sequential"]
    assert len(sequential) == 1 and sequential[0].time == T0 + 3600 + 19 * 20  # at the 20th call
    assert sequential[0].severity == "medium" and "20 calls to +4930123456" in sequential[0].reason
    spread = _detector()  # the same 20 calls spread over 4 hours stay below the limit in any 10 minutes
    assert not any(
        a.detector == "sequential"
        for n in range(20)
        for a in spread.process(_call("a", "030123456", T0 + 3600 + n * 720, seconds=10))
    )


def test_sequential_to_a_risky_number_is_high() -> None:
    detector = _detector(sequential_limit=5)
    alerts = [a for n in range(5) for a in detector.process(_call("a", "0025261234567", T0 + n * 30, 5))]
    assert [a.severity for a in alerts if a.detector == "sequential"] == ["high"]


def test_number_range_dialling_abroad_valid_or_not() -> None:
    detector = _detector()
    alerts = []
    for n in range(10):  # +44 20 7946 0xxx: ten different numbers of one block (the 10th alerts)
        alerts += detector.process(_call("b", f"004420794600{n:02d}", T0 + 3600 + n * 20, seconds=10))
    (ranged,) = [a for a in alerts if a.detector == "number-range"]
    assert ranged.severity == "high" and "10 different numbers in +442079460xxx" in ranged.reason
    invalid = _detector()  # Cuban numbers phonenumbers calls invalid still count as international
    alerts = [
        a
        for n in range(10)
        for a in invalid.process(_call("c", f"00535123456{n:02d}", T0 + 3600 + n * 20, seconds=10))
    ]
    assert [a.detector for a in alerts if a.detector == "number-range"] == ["number-range"]
    national = _detector()  # ten numbers of one national block: colleagues, not range dialling
    alerts = [
        a for n in range(10) for a in national.process(_call("d", f"030123456{n}", T0 + n * 20, seconds=10))
    ]
    assert not [a for a in alerts if a.detector == "number-range"]


def test_unusual_hours_after_warm_up_only() -> None:
    detector = _detector()
    now = _office_history(detector, "office")  # weekdays 08-18 for 3 weeks
    sunday_night = now - 10 * 3600 - 21 * 3600  # Sunday 03:00 before that Monday
    (alert,) = detector.process(_call("office", "030123456", sunday_night))
    assert (alert.detector, alert.severity) == ("unusual-hours", "low")
    assert "no calls in this hour of week for 2 weeks" in alert.reason  # 2 full weeks by that Sunday
    assert detector.process(_call("office", "030123456", sunday_night + 600)) == []  # hour now known
    cold = _detector()
    cold.process(_call("new", "030123456", T0 + 10 * 3600))
    assert cold.process(_call("new", "030123456", T0 + 2 * DAY + 3 * 3600)) == []  # still warming up


def test_wangiri_counts_low_risk_numbers_with_twice_the_accounts() -> None:
    detector = _detector()  # wangiri_accounts 4: 8 for a low-risk number
    lure = "00447012345678"  # a UK personal number (070): low risk, a classic missed-call lure
    assert detector.rater.rate(lure).risk == "low"
    seen = [detector.process(_call(f"acct{n}", lure, T0 + 3600 + n * 60, seconds=30)) for n in range(8)]
    assert not any(a.detector == "wangiri" for alerts in seen[:7] for a in alerts)
    (wangiri,) = [a for a in seen[7] if a.detector == "wangiri"]
    assert wangiri.destination == "447012345678" and "8 different accounts" in wangiri.reason


def test_wangiri_counts_invalid_numbers_abroad() -> None:
    detector = _detector(wangiri_accounts=3)
    lure = "0053512345678"  # Cuba, too long for phonenumbers' patterns
    seen = [detector.process(_call(f"acct{n}", lure, T0 + n * 60, seconds=30)) for n in range(3)]
    assert [a.destination for a in seen[2] if a.detector == "wangiri"] == ["53512345678"]


def test_wangiri_ignores_numbers_known_for_long() -> None:
    detector = _detector(wangiri_accounts=3)
    lure = "0018765550123"
    detector.process(_call("old", lure, T0, seconds=30))  # the number was seen 3 hours earlier
    later = T0 + 3 * 3600
    seen = [detector.process(_call(f"acct{n}", lure, later + n * 60, seconds=30)) for n in range(4)]
    assert not any(a.detector == "wangiri" for alerts in seen for a in alerts)


def test_chained_critical_is_marked_and_user_of_a_channel_matches() -> None:
    detector = _detector()
    detector.note_shield_finding("1001", "brute-force: password probably guessed", T0)
    alerts = []
    for channel in range(4):
        cdr = _call("PJSIP/1001", f"002526123456{channel}", T0 + 3600 + channel, seconds=1800)
        alerts += detector.process(cdr)
    critical = [a for a in alerts if a.severity == "critical"]
    assert critical and all(a.chained for a in critical)
    assert "after shield finding on 1001" in critical[0].reason
    assert critical[0].to_json()["chained"] is True
    assert not any(a.chained for a in _detector().process(_call("PJSIP/1001", "0088213456789", T0)))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3 * 3600), st.sampled_from(["030123456", "0025261234567", "00881612345"]),
                  st.integers(0, 2 * 3600)),
        min_size=1, max_size=40,
    ),
    st.integers(0, 2 * 86400),
)  # fmt: skip
def test_over_limit_skips_only_windows_whose_sums_stay_within(
    calls: list[tuple[int, str, int]], later: int
) -> None:
    """over_limit's shortcuts (the last two clock hours, the settled day's totals) give what summing
    every window in turn gives."""
    detector = _detector()
    now = T0
    for gap, number, seconds in calls:
        now += gap
        detector.process(_call("a", number, now, seconds=seconds))
    at = now + later
    state = detector.accounts.get("a", at)
    assert state is not None
    reference = copy.deepcopy(state)
    expected = None
    for limit in detector.limits:
        sums = reference.window.recent(limit.seconds, at)
        if sums.cost > limit.max_cost or sums.minutes > limit.max_minutes:
            expected = (limit, sums)
            break
    assert detector.over_limit(state, at) == expected
