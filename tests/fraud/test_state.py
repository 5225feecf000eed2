from __future__ import annotations

from array import array

from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.fraud.state import HOURS_PER_WEEK, AccountState, Window

WEEK = HOURS_PER_WEEK * 3600


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 7200), st.floats(0, 10)), min_size=1, max_size=60),
    st.sampled_from([300, 900, 3600]),
)
def test_recent_equals_brute_force_over_whole_minutes(events: list[tuple[int, float]], seconds: int) -> None:
    window = Window(86400)
    t = 0
    for gap, cost in events:
        t += gap
        window.add(float(t), cost, 1.0, 0.0)
    expected = sum(cost for when, cost in _times(events) if when // 60 > (t - seconds) // 60)
    assert abs(window.recent(seconds, float(t)).cost - expected) < 1e-6


def _times(events: list[tuple[int, float]]) -> list[tuple[int, float]]:
    t, out = 0, []
    for gap, cost in events:
        t += gap
        out.append((t, cost))
    return out


def test_day_window_forgets_and_stays_bounded() -> None:
    window = Window(86400)
    for minute in range(3 * 1440):
        window.add(minute * 60.0, 1.0, 1.0, 0.0)
    assert len(window.buckets) == 1440 and window.cost == 1440.0


def _account_with_weeks(hourly_cost: float, weeks: int) -> AccountState:
    state = AccountState(first_seen=0.0, weeks=6, window=Window(86400))
    for hour in range(weeks * HOURS_PER_WEEK):
        state.roll(hour * 3600.0)
        state.hour_cost = hourly_cost if hour % HOURS_PER_WEEK == 10 else 0.0
    state.roll(weeks * WEEK + 10 * 3600.0)
    return state


def test_threshold_is_robust_median_plus_mad() -> None:
    quiet = _account_with_weeks(2.0, 3)
    threshold = quiet.current_threshold(6.0, 1.0)
    assert threshold is not None and threshold.samples == 9  # 3 weeks x (hour - 1, hour, hour + 1)
    assert threshold.median_cost == 0.0 and 5.0 < threshold.cost < 10.0
    assert _account_with_weeks(2.0, 0).current_threshold(6.0, 1.0) is None  # no full week yet


def test_count_dialled_spans_two_windows_and_is_bounded() -> None:
    state = AccountState(first_seen=0.0, weeks=2, window=Window(86400))
    assert [state.count_dialled("49301", t, 600) for t in (0.0, 300.0, 700.0)] == [1, 2, 3]
    assert state.count_dialled("49301", 1900.0, 600) == 1  # two windows later: forgotten
    for n in range(6000):
        state.count_dialled(str(n), 1900.0, 600)
    assert state.dialled_overflow > 0 and len(state.dialled) <= 5000


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3 * WEEK), st.floats(0, 10)), min_size=1, max_size=40))
def test_roll_writes_each_finished_hour_and_zeros_silent_ones(events: list[tuple[int, float]]) -> None:
    """The slice writes must leave the same history as writing every hour one by one."""
    weeks = 2
    size = HOURS_PER_WEEK * weeks
    state = AccountState(first_seen=0.0, weeks=weeks, window=Window(86400))
    expected = [0.0] * size
    sums: dict[int, float] = {}
    t = 0
    for gap, cost in events:
        t += gap
        state.roll(float(t))
        state.hour_cost += cost
        sums[t // 3600] = sums.get(t // 3600, 0.0) + cost
    final_hour = t // 3600 + 1
    state.roll(final_hour * 3600.0)
    for hour in range(max(0, final_hour - size), final_hour):
        expected[hour % size] = sums.get(hour, 0.0)
    # The same float64 sums stored as float32: exactly equal (rounding to 3 places was flaky at .0005)
    assert list(state.cost_history) == list(array("f", expected))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-900, 5400), st.floats(0, 10)), min_size=1, max_size=60))
def test_last_hour_bound_is_never_below_the_sliding_hour(events: list[tuple[int, float]]) -> None:
    """The detector skips summing buckets when this bound is within a limit; it must never be less
    than the true last-60-minutes sum, also with records arriving up to 15 minutes late."""
    state = AccountState(first_seen=0.0, weeks=2, window=Window(86400))
    t = 10 * WEEK
    for step, cost in events:
        t = max(t, t + step) if step > 0 else t
        now = float(t + min(step, 0))  # a negative step is a late record
        if now >= state.hour_end:
            state.roll(now)
        state.hour_cost += cost
        state.hour_minutes += 1.0
        state.window.add(now, cost, 1.0, 0.0)
        bound = state.last_hour_bound(now)
        if bound is not None:
            sums = state.window.recent(3600, now)
            assert bound[0] >= sums.cost - 1e-9 and bound[1] >= sums.minutes - 1e-9


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["get", "set"]), st.sampled_from("abcd"), st.integers(-50, 400)),
        max_size=80,
    )
)
def test_account_table_answers_like_the_ttl_map_it_inlines(ops: list[tuple[str, str, int]]) -> None:
    from phonewarden.core.windows import TtlMap
    from phonewarden.fraud.state import AccountTable

    fast, plain = AccountTable(100.0, 3), TtlMap[str, AccountState](100.0, 3)
    states = {key: AccountState(first_seen=0.0, weeks=2, window=Window(3600)) for key in "abcd"}
    now = 0.0
    for op, key, step in ops:
        now += step  # time also goes back: late records
        if op == "set":
            fast.set(key, states[key], now)
            plain.set(key, states[key], now)
        else:
            assert fast.get(key, now) is plain.get(key, now)
    assert fast.items(now) == plain.items(now) and fast.evictions == plain.evictions


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3600), st.integers(0, 4 * 3600)), min_size=1, max_size=30),
    st.sampled_from([300, 900, 3600, 86400]),
)
def test_a_call_counts_only_its_overlap_with_the_window(calls: list[tuple[int, int]], seconds: int) -> None:
    """Each call adds to a window what it ran inside it (from the window's first whole minute, as
    `recent` counts); here every call is listed as long (`long_after=0`)."""
    window = Window(86400, long_after=0.0)
    now = 0
    for gap, length in calls:
        now += gap
        window.add(float(now), length / 60, length / 60, 0.0, float(length))
    oldest_minute = (now - seconds) // 60  # `recent` keeps minutes after this one
    expected = 0.0
    t = 0
    for gap, length in calls:
        t += gap
        begin = max(t - length, (oldest_minute + 1) * 60, (now - 86400) // 60 * 60 + 60)
        expected += max(0, t - begin) / 60 if length else 0.0
    got = window.recent(seconds, float(now))
    ends = [sum(gap for gap, _ in calls[: i + 1]) for i in range(len(calls))]
    assert abs(got.minutes - expected) < 1e-6
    assert got.calls == sum(1 for end in ends if end // 60 > oldest_minute)  # in its last minute


def test_take_undoes_add() -> None:
    window = Window(86400)
    window.add(600.0, 1.0, 1.0, 0.0)
    window.add(4000.0, 20.0, 20.0, 5.0, 1200.0)  # a 20-minute call: listed as long
    window.take(4000.0, 20.0, 20.0, 5.0, 1200.0)
    sums = window.recent(86400, 4000.0)
    assert abs(sums.cost - 1.0) < 1e-9 and sums.calls == 1 and abs(sums.risky) < 1e-9


def test_short_calls_count_whole_long_ones_from_the_window_start() -> None:
    window = Window(86400)  # long_after 300 s
    window.add(7200.0, 2.0, 4.0, 0.0, 240.0)  # 4 minutes: counted whole wherever it began
    window.add(7200.0, 13.0, 130.0, 0.0, 7800.0)  # 130 minutes: only its last 5 in the last 5
    last_five = window.recent(300, 7200.0)  # minutes 116-120: the window begins at 6960 s
    assert abs(last_five.minutes - (4.0 + 4.0)) < 1e-9 and last_five.calls == 2
    assert abs(window.recent(86400, 7200.0).minutes - 134.0) < 1e-9
    assert window.minutes == 134.0  # the running total stays an upper bound


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("abc"), st.integers(-600, 5 * 3600)),
        max_size=60,
    )
)
def test_current_is_get_then_roll_then_set(ops: list[tuple[str, int]]) -> None:
    """`current` (the detector's one call a CDR) leaves the table and the states as the three steps do."""
    from phonewarden.fraud.state import AccountTable

    fast, plain = AccountTable(7200.0, 2), AccountTable(7200.0, 2)
    now = 0.0
    for key, step in ops:
        now += step  # time also goes back: late records
        got, expected = fast.current(key, now), plain.get(key, now)
        if expected is not None and now >= expected.hour_end and expected.roll(now):
            plain.set(key, expected, now)
        if expected is None:
            assert got is None
            for table in (fast, plain):
                state = AccountState(first_seen=now, weeks=2, window=Window(3600))
                state.roll(now)
                table.set(key, state, now)
        else:
            assert got is not None and (got.hour, got.hour_end) == (expected.hour, expected.hour_end)
        assert [(key, entry.updated) for key, entry in fast._entries.items()] == [
            (key, entry.updated) for key, entry in plain._entries.items()
        ]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(0, 1000, width=32), min_size=1, max_size=40), st.floats(0.5, 10))
def test_robust_limit_is_the_statistics_median_and_mad(values: list[float], factor: float) -> None:
    import statistics

    from phonewarden.fraud.state import MAD_TO_SIGMA, _robust_limit

    median = statistics.median(values)
    mad = statistics.median(abs(value - median) for value in values)
    spread = max(mad * MAD_TO_SIGMA, (max(values) - median) / 2)
    assert _robust_limit(values, factor) == (median + factor * spread, median)  # bit for bit


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 4 * 3600), st.floats(0, 5), st.integers(0, 3 * 3600)), max_size=40),
    st.integers(0, 2 * 86400),
)
def test_settled_means_expire_would_change_nothing(calls: list[tuple[int, float, int]], later: int) -> None:
    """over_limit skips summing the whole window when `settled` and its totals are within the limit:
    then expiring must change nothing, and the sums must not exceed the totals."""
    from copy import deepcopy

    window = Window(86400)
    now = 0
    for gap, cost, seconds in calls:
        now += gap
        window.add(float(now), cost, seconds / 60, 0.0, float(seconds))
    at = float(now + later)
    expired = deepcopy(window)
    expired.expire(at)
    unchanged = list(expired.buckets) == list(window.buckets) and list(expired.long) == list(window.long)
    assert window.settled(at) == (bool(window.buckets) and unchanged)
    if window.settled(at):
        sums = window.recent(86400, at)
        assert sums.cost <= window.cost and sums.minutes <= window.minutes
