import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phonewarden.core.clock import EventClock


def test_starts_at_the_given_time_before_any_record() -> None:
    assert EventClock().now == 0.0
    assert EventClock(start=1_700_000_000.0).now == 1_700_000_000.0


def test_advances_with_record_times() -> None:
    clock = EventClock()
    assert clock.observe(100.0) == 100.0
    assert clock.observe(100.5) == 100.5
    assert clock.now == 100.5
    assert (clock.observed, clock.late) == (2, 0)


def test_a_late_record_does_not_move_the_clock_back_but_is_counted() -> None:
    clock = EventClock()
    clock.observe(100.0)
    assert clock.observe(97.0) == 100.0
    assert clock.observe(99.5) == 100.0
    assert clock.now == 100.0
    assert clock.late == 2
    assert clock.max_lateness == 3.0


def test_a_record_at_the_same_time_is_not_late() -> None:
    clock = EventClock()
    clock.observe(5.0)
    clock.observe(5.0)
    assert clock.late == 0


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_times_are_refused_and_leave_the_clock_alone(bad: float) -> None:
    clock = EventClock()
    clock.observe(10.0)
    with pytest.raises(ValueError, match="finite"):
        clock.observe(bad)
    assert clock.now == 10.0
    with pytest.raises(ValueError):
        EventClock(start=bad)


@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=200))
def test_now_is_the_running_maximum_and_late_counts_records_below_it(times: list[int]) -> None:
    clock = EventClock()
    running_max, late, worst = 0.0, 0, 0.0
    for t in times:
        if t < running_max:
            late += 1
            worst = max(worst, running_max - t)
        running_max = max(running_max, t)
        assert clock.observe(t) == running_max
    assert (clock.now, clock.late, clock.max_lateness) == (running_max, late, worst)
    assert clock.observed == len(times)
