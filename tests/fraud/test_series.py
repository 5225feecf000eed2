"""The baseline band drawn behind an account's hours is the detector's own threshold, whether learned
from the running detector or from the hours the service stored."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from phonewarden.fraud.cdr import Cdr
from phonewarden.fraud.series import account_series, band, detector_hours
from phonewarden.fraud.service import FraudService
from phonewarden.fraud.settings import FraudSettings
from phonewarden.store.engine import make_engine
from phonewarden.store.migrate import upgrade
from tests.store.conftest import db_url, pg_url  # noqa: F401


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:  # noqa: F811 (the store's fixture: SQLite and PostgreSQL)
    db = make_engine(db_url)
    upgrade(db)
    yield db
    db.dispose()


def _three_weeks(now: float) -> list[Cdr]:
    """National calls (1 ct/min) most hours of three weeks, of varying length: a band with a spread."""
    rng, cdrs = random.Random(4), []
    for hour in range(int(now // 3600) - 21 * 24, int(now // 3600)):
        for _ in range(rng.randrange(0, 4)):
            start = hour * 3600 + rng.uniform(0, 3000)
            billsec = rng.uniform(30, 1500)
            cdrs.append(Cdr(account="acme", destination="0305550012", start=start, end=start + billsec,
                            billsec=billsec, call_id=f"c{len(cdrs)}"))  # fmt: skip
    return sorted(cdrs, key=lambda cdr: cdr.end)


def test_band_is_the_detectors_threshold_and_the_store_gives_the_same(engine: Engine) -> None:
    settings = FraudSettings(warmup_days=1, baseline_min_cost=0.05)
    now = time.time()
    running = FraudService(settings, engine)
    running.ingest(_three_weeks(now))
    state = running.engine.detector.accounts.get("acme", running.engine.now)
    assert state is not None
    threshold = state.current_threshold(settings.baseline_mad_factor, settings.baseline_min_cost)
    assert threshold is not None
    median, upper = band(detector_hours(state), state.hour, int(state.first_seen // 3600), settings) or (0, 0)
    assert (median, upper) == pytest.approx((threshold.median_cost, threshold.cost))

    live = account_series(running, engine, "acme", now)
    restarted = account_series(FraudService(settings, engine), engine, "acme", now)  # memory empty
    assert (live["baseline_from"], restarted["baseline_from"]) == ("detector", "store")
    assert len(live["hours"]) == 168 and sum(live["calls"]) == sum(restarted["calls"]) > 100
    assert None not in live["upper"] and len(set(live["upper"])) > 10  # learned, and not flat
    assert live["upper"] == pytest.approx(restarted["upper"], rel=1e-4)
    assert live["median"] == pytest.approx(restarted["median"], rel=1e-4, abs=1e-4)
    assert all(m <= u for m, u in zip(live["median"], live["upper"], strict=True))


def test_no_band_before_a_full_week(engine: Engine) -> None:
    now = time.time()
    service = FraudService(FraudSettings(), engine)
    start = now - 3 * 86400
    service.ingest([Cdr(account="new", destination="0305550012", start=start, end=start + 60, billsec=60)])
    series = account_series(service, engine, "new", now)
    assert series["upper"] == [None] * 168 and sum(series["calls"]) == 1 and series["cost"].count(0.01) == 1
