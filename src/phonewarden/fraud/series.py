"""An account's calls and cost per hour over the last days against its learned baseline band, read-only.

The band is the detector's own rule (state.py): per hour, the median and the allowed upper bound
(median + k * MAD, at least `baseline_min_cost`) of the same and neighbouring hours of week in the
previous full weeks. It is learned from the running detector's hourly history when this process holds
the account, else from the calls and cost per hour in the store (same numbers, summed by the service).
Calls and cost come from the store: the detector keeps sums per hour, not calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from phonewarden.fraud import history
from phonewarden.fraud.service import FraudService
from phonewarden.fraud.settings import FraudSettings
from phonewarden.fraud.state import HOURS_PER_WEEK, AccountState, _robust_limit

DAYS = 7


def band(
    costs: Mapping[int, float], hour: int, first_hour: int, settings: FraudSettings
) -> tuple[float, float] | None:
    """(median, upper bound) of the cost the baseline allows in `hour` (absolute hour), None while
    fewer than one full week is known. Hours missing from `costs` were silent: 0."""
    weeks = min(settings.baseline_weeks, (hour - first_hour) // HOURS_PER_WEEK)
    if weeks < 1:
        return None
    samples = [
        costs.get(hour - week * HOURS_PER_WEEK + offset, 0.0)
        for week in range(1, weeks + 1)
        for offset in (-1, 0, 1)
    ]
    limit, median = _robust_limit(samples, settings.baseline_mad_factor)
    return median, max(limit, settings.baseline_min_cost)


def detector_hours(state: AccountState) -> dict[int, float]:
    """The detector's hourly cost history of one account: {absolute hour: cost}, its current hour too."""
    size = len(state.cost_history)
    first = int(state.first_seen // 3600)
    costs = {
        hour: float(state.cost_history[hour % size])
        for hour in range(max(first, state.hour - size + 1), state.hour)
    }
    costs[state.hour] = state.hour_cost
    return costs


def account_series(
    service: FraudService, db: Engine, account: str, now: float, days: int = DAYS
) -> dict[str, Any]:
    """Per hour of the last `days` days (epoch seconds): calls, cost, baseline median and upper bound."""
    settings = service.settings
    service.flush_usage()
    last = int(now // 3600)
    hours = list(range(last - days * 24 + 1, last + 1))
    learn_from = history.utc((hours[0] - settings.baseline_weeks * HOURS_PER_WEEK - 1) * 3600)
    with Session(db) as session:
        stored = history.hourly_usage(session, account, learn_from)
    by_hour = {int(epoch // 3600): value for epoch, value in stored.items()}
    with service.lock:
        state = service.engine.detector.accounts.get(account, service.engine.now)
        learned = detector_hours(state) if state is not None else None
        first_seen = state.first_seen if state is not None else None
    if learned is not None and first_seen is not None:
        costs, first, source = learned, int(first_seen // 3600), "detector"
    else:
        costs = {hour: cost for hour, (_, cost) in by_hour.items()}
        first, source = min(by_hour, default=last), "store"
    bands = [band(costs, hour, first, settings) for hour in hours]
    return {
        "account": account,
        "currency": settings.currency,
        "baseline_from": source,
        "hours": [hour * 3600 for hour in hours],
        "calls": [by_hour.get(hour, (0, 0.0))[0] for hour in hours],
        "cost": [round(by_hour.get(hour, (0, 0.0))[1], 4) for hour in hours],
        "median": [None if b is None else round(b[0], 4) for b in bands],
        "upper": [None if b is None else round(b[1], 4) for b in bands],
    }
