"""The proof: a seeded ITSP month with attacks and traps, replayed through the engine with authorize."""

from __future__ import annotations

import pytest

from phonewarden.fraud.engine import FraudEngine
from phonewarden.fraud.settings import FraudSettings
from tests.fraud.scenario import Outcome, build, simulate

ATTACKED = {"office-000", "office-001"}
CONFERENCE = {"office-004", "office-005", "office-006"}  # 2-3 hour calls: national, France, Brazil


_BUILT: dict[int, list] = {}  # type: ignore[type-arg]


def _calls(seed: int) -> list:  # type: ignore[type-arg]
    if seed not in _BUILT:
        _BUILT[seed] = build(seed=seed, accounts=200, weeks=4)[0]
    return _BUILT[seed]


def _first(outcome: Outcome, account: str) -> float:
    return min(r.time for r in outcome.restrictions if r.account == account)


def _lost_after(outcome: Outcome, tag: str, since: float) -> float:
    """Cost of the attack's calls allowed to start at or after `since`."""
    return sum(cost for start, kind, _, cost in outcome.allowed_calls if kind == tag and start >= since)


@pytest.mark.parametrize(
    ("seed", "live"),
    [(7, False), (7, True), (3, False), (5, True)],
    ids=["7-cdr", "7-live", "3-cdr", "5-live"],
)
def test_attacks_are_stopped_and_traps_are_not_restricted(seed: int, live: bool) -> None:
    outcome = simulate(FraudEngine(FraudSettings()), _calls(seed), live=live)
    restricted = {r.account for r in outcome.restrictions if not r.destination}
    assert restricted == ATTACKED, "false or missing restrictions"
    # Weekend hack: 10 channels at 1-5 EUR/min; unstopped it would run 40 hours (~EUR 100k).
    delay = _first(outcome, "office-000") - outcome.first_attack["hack"]
    assert delay <= (5 * 60 if live else 50 * 60)
    assert outcome.allowed["hack"] < (1200 if live else 2500)
    assert outcome.denied["hack"] > 100
    # The attack outlasts the 24 h restriction; denied attempts keep it in force until the attack ends.
    assert _lost_after(outcome, "hack", _first(outcome, "office-000")) == 0.0
    assert len([r for r in outcome.restrictions if r.account == "office-000"]) == 1
    # Slow business-hours attack: caught by the hour-of-week baseline, level 1 after the ack timeout.
    slow_delay = _first(outcome, "office-001") - outcome.first_attack["slow"]
    assert slow_delay <= 3 * 3600
    assert outcome.allowed["slow"] < 50
    assert _lost_after(outcome, "slow", _first(outcome, "office-001")) == 0.0
    # Wangiri: the lure number is blocked for everyone after a few call-backs.
    blocks = [r for r in outcome.restrictions if r.destination]
    assert len(blocks) == 1 and blocks[0].destination.startswith("1876")
    assert outcome.denied["wangiri"] >= 6
    # Traps: campaign, one-off and conference calls went through, night shifts untouched.
    assert not {"campaign", "one-off", "conference"} & set(outcome.denied)
    assert len([c for c in outcome.allowed_calls if c[1] == "conference"]) == 3
    assert not any(a.account in CONFERENCE and a.severity == "critical" for a in outcome.alerts)
    assert not any(
        a.account.startswith("night") and a.severity in ("high", "critical") for a in outcome.alerts
    )


def test_report_only_never_restricts() -> None:
    outcome = simulate(FraudEngine(FraudSettings(report_only=True)), _calls(7))
    assert any(a.severity == "critical" for a in outcome.alerts)
    assert outcome.restrictions == []


def test_live_conference_call_is_not_restricted() -> None:
    """A 2-hour call to a Brazilian landline (EUR 0.15/min) seen live, with a tick every 30 s: the
    running call counts only its part inside each window (EUR 0.75 of the last 5 minutes)."""
    engine = FraudEngine(FraudSettings())
    start = 1_767_571_200.0 + 10 * 3600
    engine.on_call_start("conf", "office-006", "00551133334444", start)
    outputs = engine.on_call_answer("conf", start + 5)
    for second in range(30, 7200, 30):
        outputs += engine.tick(start + 5 + second)
    assert [o for o in outputs if o.type == "restriction"] == []
