from __future__ import annotations

from phonewarden.fraud.cdr import Cdr
from phonewarden.fraud.engine import FraudEngine
from phonewarden.fraud.records import Alert
from phonewarden.fraud.settings import FraudSettings

T0 = 1_767_571_200.0


def _warm(engine: FraudEngine, account: str) -> None:
    """Three weeks of one national call a day, each live, so peaks of 1 are learned."""
    for day in range(21):
        t = T0 + day * 86400 + 10 * 3600
        engine.on_call_start(f"w{day}", account, "030123456", t)
        engine.on_call_answer(f"w{day}", t + 2)
        engine.on_call_end(f"w{day}", t + 60)
        engine.on_cdr(Cdr(account=account, destination="030123456", start=t, end=t + 60, billsec=58))


def test_parallel_risky_calls_are_critical_before_any_cdr() -> None:
    engine = FraudEngine(FraudSettings(concurrency_min=2))
    _warm(engine, "a")
    t = T0 + 21 * 86400 + 3 * 3600
    outputs = []
    for n in range(4):
        outputs += engine.on_call_start(f"x{n}", "a", "0025261234567", t + n)
        outputs += engine.on_call_answer(f"x{n}", t + n + 1)
    alerts = [o for o in outputs if isinstance(o, Alert)]
    assert alerts and alerts[0].detector == "concurrency" and alerts[0].severity == "critical"
    assert "normal peak for this hour of week 0" in alerts[0].reason
    assert engine.book.level("a", t + 10) == 2


def test_busy_but_usual_destinations_is_only_medium() -> None:
    engine = FraudEngine(FraudSettings(concurrency_min=2))
    _warm(engine, "a")
    t = T0 + 21 * 86400 + 10 * 3600
    outputs = []
    for n in range(4):
        outputs += engine.on_call_start(f"x{n}", "a", "030999888", t + n)
        outputs += engine.on_call_answer(f"x{n}", t + n + 1)
    assert {o.severity for o in outputs if isinstance(o, Alert)} == {"medium"}
    assert engine.book.level("a", t + 10) == 0


def test_running_cost_and_long_risky_call_are_seen_by_ticks() -> None:
    engine = FraudEngine(FraudSettings(live_risky_call_max_s=600))
    engine.on_call_start("s", "a", "0088213456789", T0)  # satellite, 5/min
    engine.on_call_answer("s", T0 + 1)
    detectors = [o.detector for o in engine.tick(T0 + 200) if isinstance(o, Alert)]  # 16.6 > 15 in 5 min
    assert detectors == ["live-spend"]
    later = [o.detector for o in engine.tick(T0 + 700) if isinstance(o, Alert)]
    assert "long-risky-call" in later
    engine.on_call_end("s", T0 + 800)
    assert engine.live.by_account == {}


def test_unanswered_invites_are_forgotten() -> None:
    engine = FraudEngine(FraudSettings())
    engine.on_call_start("u", "a", "030123", T0)
    assert engine.on_call_answer("u", T0 + 500) == []  # setup timed out: a late 200 opens nothing
    assert engine.live.by_account == {}
