"""The proof: a seeded ITSP month with attacks and traps, replayed through the engine with authorize."""

from __future__ import annotations

import pytest

from phonewarden.fraud.engine import FraudEngine
from phonewarden.fraud.settings import FraudSettings
from tests.fraud.scenario import Outcome, build, simulate

ATTACKED = {"office-000", "office-001"}


_BUILT: dict[int, list] = {}  # type: ignore[type-arg]


def _calls(seed: int) -> list:  # type: ignore[type-arg]
    if seed not in _BUILT:
        _BUILT[seed] = build(seed=seed, accounts=200, weeks=4)[0]
    return _BUILT[seed]


def _first(outcome: Outcome, account: str) -> float:
    return min(r.time for r in outcome.restrictions if r.account == account)


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
    # Slow business-hours attack: caught by the hour-of-week baseline, level 1 after the ack timeout.
    slow_delay = _first(outcome, "office-001") - outcome.first_attack["slow"]
    assert slow_delay <= 3 * 3600
    assert outcome.allowed["slow"] < 50
    # Wangiri: the lure number is blocked for everyone after a few call-backs.
    blocks = [r for r in outcome.restrictions if r.destination]
    assert len(blocks) == 1 and blocks[0].destination.startswith("1876")
    assert outcome.denied["wangiri"] >= 6
    # Traps: campaign and one-off calls went through, night shifts untouched.
    assert "campaign" not in outcome.denied and "one-off" not in outcome.denied
    assert not any(
        a.account.startswith("night") and a.severity in ("high", "critical") for a in outcome.alerts
    )


def test_report_only_never_restricts() -> None:
    outcome = simulate(FraudEngine(FraudSettings(report_only=True)), _calls(7))
    assert any(a.severity == "critical" for a in outcome.alerts)
    assert outcome.restrictions == []
