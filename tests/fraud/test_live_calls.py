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


def _booking_engine() -> FraudEngine:
    engine = FraudEngine(FraudSettings())
    engine.live.book_estimates = True  # as serve's live guard sets it
    return engine


def _live_call(engine: FraudEngine, call_id: str, number: str, start: float, seconds: float) -> list[Alert]:
    engine.on_call_start(call_id, "a", number, start)
    engine.on_call_answer(call_id, start + 3)
    outputs = engine.on_call_end(call_id, start + 3 + seconds)  # the booked call's alerts come back here
    return [out for out in outputs if isinstance(out, Alert)] + engine.live.take_booked()


def test_hang_up_books_the_estimate_and_its_cdr_replaces_it() -> None:
    engine = _booking_engine()
    _live_call(engine, "k1@pbx", "0021671000001", T0, 600)  # Tunisia, EUR 0.50/min: EUR 5.00
    state = engine.detector.state("a", T0 + 603)
    assert (round(state.window.cost, 2), state.calls) == (5.0, 1)
    # The CDR says 700 s: it replaces the estimate (matched by Call-ID), it does not add to it.
    cdr = Cdr(account="a", destination="0021671000001", start=T0, end=T0 + 705, billsec=700, call_id="k1@pbx")
    assert engine.live.reconcile(cdr) is not None
    engine.on_cdr(cdr)
    assert (round(state.window.cost, 2), state.calls, round(state.hour_cost, 2)) == (5.83, 1, 5.83)
    assert engine.live.reconcile(cdr) is None  # taken once
    assert state.count_dialled("21671000001", T0 + 706, 600) == 2  # the CDR's call and this ask


def test_a_cdr_without_the_call_id_matches_by_number_and_end() -> None:
    engine = _booking_engine()
    _live_call(engine, "sip-call-id", "0021671000001", T0, 600)
    other = Cdr(account="a", destination="0021671000001", start=T0, end=T0 + 900, billsec=60)
    assert engine.live.reconcile(other) is None  # 5 minutes after the BYE: another call
    asterisk = Cdr(
        account="a", destination="0021671000001", start=T0, end=T0 + 604, billsec=600, call_id="1.2"
    )
    assert engine.live.reconcile(asterisk) is not None
    state = engine.detector.state("a", T0 + 604)
    assert abs(state.window.cost) < 1e-9 and state.window.calls == 0 and state.calls == 0


def test_without_booking_a_hang_up_counts_nothing() -> None:
    engine = FraudEngine(FraudSettings())
    assert engine.live.book_estimates  # the engine books hang-ups (serve and replay --capture alike)
    engine.live.book_estimates = False
    _live_call(engine, "c", "0021671000001", T0, 600)
    assert engine.detector.state("a", T0 + 700).window.cost == 0 and engine.live.estimates == {}


def test_back_to_back_calls_fed_only_live_reach_the_day_limit() -> None:
    """The shape of the review's probe: 40 back-to-back 20-minute calls to Tunisia (EUR 10 each), no
    CDR at all. Each hang-up is booked, so the 24 h limit of EUR 250 is crossed by the 26th call."""
    engine = _booking_engine()
    alerts: list[Alert] = []
    for n in range(40):
        t = T0 + n * 1210
        alerts += _live_call(engine, f"c{n}", f"0021671{n:06d}", t, 1200)
    spend = [a for a in alerts if a.detector == "spend-limit"]
    assert spend and spend[0].severity == "critical" and "in 1440 min" in spend[0].reason
    assert (
        spend[0].calls == ["c25"]
        and "EUR 260.00 (limit EUR 250.00) in 1440 min over 26 calls" in spend[0].reason
    )
