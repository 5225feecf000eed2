"""Bounded windows: behaviour, the key cap, eviction counts, and totals against brute-force reference models.

Times in the property tests are multiples of 1/8 s and bucket widths multiples of 1/8 s, so float arithmetic
is exact and a reference model can be compared without tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from itertools import accumulate
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phonewarden.core.windows import DistinctCounter, KeyedSamples, LeakyBucket, SlidingCounter, TtlMap

# --- helpers ---------------------------------------------------------------------------------------------

# Steps between records in eighths of a second; negative steps make late records.
steps = st.lists(st.integers(min_value=-16, max_value=40), min_size=1, max_size=120)


def event_times(raw_steps: list[int]) -> tuple[list[float], list[float]]:
    """Raw record times (may go back) and the event times a table uses (the running maximum)."""
    raw = [k / 8 for k in accumulate(raw_steps, initial=1000)][1:]
    return raw, list(accumulate(raw, max))


def reference_lru(keys: list[int], max_keys: int) -> tuple[list[int], int]:
    """Keys kept (least recently updated first) and keys evicted, for a table where nothing goes stale."""
    order: list[int] = []
    evictions = 0
    for key in keys:
        if key in order:
            order.remove(key)
        elif len(order) >= max_keys:
            order.pop(0)
            evictions += 1
        order.append(key)
    return order, evictions


@dataclass(frozen=True)
class Table:
    """How to build, update and probe one kind of table, for tests shared by all of them."""

    make: Callable[[int], Any]  # max_keys -> table
    update: Callable[[Any, int, float], object]  # (table, key, now)
    holds: Callable[[Any, int, float], bool]  # (table, key, now): is the key's state still there?
    timed: bool = True


TABLES = {
    "TtlMap": Table(
        make=lambda n: TtlMap(ttl=10, max_keys=n),
        update=lambda t, k, now: t.set(k, "v", now),
        holds=lambda t, k, now: t.contains(k, now),
    ),
    "SlidingCounter": Table(
        make=lambda n: SlidingCounter(window=10, max_keys=n, buckets=5),
        update=lambda t, k, now: t.add(k, now),
        holds=lambda t, k, now: t.total(k, now) > 0,
    ),
    "DistinctCounter": Table(
        make=lambda n: DistinctCounter(window=10, max_keys=n, max_items_per_key=3),
        update=lambda t, k, now: t.add(k, "alice", now),
        holds=lambda t, k, now: t.count(k, now) > 0,
    ),
    "KeyedSamples": Table(
        make=lambda n: KeyedSamples(max_keys=n, samples_per_key=2),
        update=lambda t, k, now: t.add(k, "sample"),
        holds=lambda t, k, now: t.get(k) != (),
        timed=False,
    ),
    "LeakyBucket": Table(
        make=lambda n: LeakyBucket(capacity=1000, leak_per_second=1, max_keys=n),
        update=lambda t, k, now: t.add(k, now),
        holds=lambda t, k, now: t.level(k, now) > 0,
    ),
}


# --- the key cap, shared by every table ------------------------------------------------------------------


@pytest.mark.parametrize("kind", TABLES)
@given(keys=st.lists(st.integers(min_value=0, max_value=30), max_size=200), max_keys=st.integers(1, 8))
def test_key_cap_holds_and_least_recently_updated_keys_are_evicted_and_counted(
    kind: str, keys: list[int], max_keys: int
) -> None:
    table_kind = TABLES[kind]
    table = table_kind.make(max_keys)
    for key in keys:
        table_kind.update(table, key, 0.0)
        assert len(table) <= max_keys
    kept, evictions = reference_lru(keys, max_keys)
    assert table.evictions == evictions
    assert len(table) == len(kept)
    assert all(table_kind.holds(table, key, 0.0) for key in kept)
    assert table.sizes()["keys"] == len(kept)
    assert table.sizes()["evictions"] == evictions


@pytest.mark.parametrize("kind", [name for name, table in TABLES.items() if table.timed])
def test_keys_whose_state_ran_out_make_room_without_counting_as_evictions(kind: str) -> None:
    table_kind = TABLES[kind]
    table = table_kind.make(3)
    for key in (1, 2, 3):
        table_kind.update(table, key, 0.0)
    table_kind.update(table, 4, 5000.0)
    assert table.evictions == 0
    assert len(table) == 1
    table_kind.update(table, 5, 5000.0)
    table_kind.update(table, 6, 5000.0)
    table_kind.update(table, 7, 5000.0)  # 4, 5, 6 are live: 4 is evicted and counted
    assert table.evictions == 1
    assert not table_kind.holds(table, 4, 5000.0)


# LeakyBucket judges staleness by age alone, so it may count a bucket that drained early as evicted.
@pytest.mark.parametrize("kind", ["TtlMap", "SlidingCounter", "DistinctCounter"])
@given(
    raw_steps=steps,
    keys=st.lists(st.integers(0, 6), min_size=120, max_size=120),
    max_keys=st.integers(1, 4),
)
def test_evictions_count_exactly_the_keys_that_lost_live_state(
    kind: str, raw_steps: list[int], keys: list[int], max_keys: int
) -> None:
    table_kind = TABLES[kind]
    table = table_kind.make(max_keys)
    _, times = event_times(raw_steps)
    for key, now in zip(keys, times, strict=False):
        live_before = {k for k in range(7) if table_kind.holds(table, k, now)}
        evictions_before = table.evictions
        table_kind.update(table, key, now)
        lost = live_before - {k for k in range(7) if table_kind.holds(table, k, now)}
        assert table.evictions - evictions_before == len(lost)
        assert len(table) <= max_keys


@pytest.mark.parametrize("kind", [name for name, table in TABLES.items() if table.timed])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_times_are_refused(kind: str, bad: float) -> None:
    table_kind = TABLES[kind]
    with pytest.raises(ValueError, match="finite"):
        table_kind.update(table_kind.make(2), 1, bad)


@pytest.mark.parametrize(
    "build",
    [
        lambda: TtlMap(ttl=1, max_keys=0),
        lambda: TtlMap(ttl=0, max_keys=1),
        lambda: SlidingCounter(window=0, max_keys=1),
        lambda: SlidingCounter(window=1, max_keys=1, buckets=0),
        lambda: DistinctCounter(window=1, max_keys=1, max_items_per_key=0),
        lambda: KeyedSamples(max_keys=1, samples_per_key=0),
        lambda: LeakyBucket(capacity=0, leak_per_second=1, max_keys=1),
        lambda: LeakyBucket(capacity=1, leak_per_second=-1, max_keys=1),
    ],
)
def test_nonsense_bounds_are_refused(build: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        build()


# --- TtlMap ----------------------------------------------------------------------------------------------


def test_ttl_map_entry_lives_for_ttl_seconds_after_it_was_last_set() -> None:
    trusted: TtlMap[str, str] = TtlMap(ttl=30, max_keys=10)
    trusted.set("192.0.2.1", "alice", now=100)
    assert trusted.get("192.0.2.1", now=120) == "alice"
    trusted.set("192.0.2.1", "alice", now=120)  # re-authenticated: trust renewed
    assert trusted.contains("192.0.2.1", now=149.9)
    assert not trusted.contains("192.0.2.1", now=150)
    assert trusted.get("192.0.2.1", now=150) is None


def test_ttl_map_expire_returns_expired_entries_for_unanswered_requests() -> None:
    pending: TtlMap[str, str] = TtlMap(ttl=32, max_keys=10)
    pending.set("call-1", "INVITE", now=0)
    pending.set("call-2", "INVITE", now=10)
    assert pending.pop("call-2", now=11) == "INVITE"  # answered
    pending.set("call-3", "INVITE", now=20)
    assert pending.expire(now=40) == [("call-1", "INVITE")]
    assert pending.items(now=40) == [("call-3", "INVITE")]
    assert len(pending) == 1


def test_ttl_map_pop_of_an_expired_entry_gives_nothing_and_removes_it() -> None:
    pending: TtlMap[str, int] = TtlMap(ttl=5, max_keys=10)
    pending.set("a", 1, now=0)
    assert pending.pop("a", now=5) is None
    assert len(pending) == 0


def test_ttl_map_late_set_counts_from_the_latest_time_seen() -> None:
    table: TtlMap[str, int] = TtlMap(ttl=10, max_keys=10)
    table.set("a", 1, now=100)
    table.set("b", 2, now=50)  # late record: trusted from 100, not from 50
    assert table.contains("b", now=109)


ttl_ops = st.lists(
    st.tuples(st.sampled_from(["set", "get", "pop", "expire"]), st.integers(0, 5), st.integers(-16, 40)),
    min_size=1,
    max_size=150,
)


@given(ttl_ops)
def test_ttl_map_matches_a_dictionary_of_set_times(ops: list[tuple[str, int, int]]) -> None:
    table: TtlMap[int, int] = TtlMap(ttl=4, max_keys=100)
    reference: dict[int, tuple[int, float]] = {}  # key -> (value, set time)
    _, times = event_times([step for _, _, step in ops])

    def live(now: float) -> dict[int, int]:
        return {k: v for k, (v, t) in reference.items() if now - t < 4}

    for index, ((op, key, _), now) in enumerate(zip(ops, times, strict=True)):
        if op == "set":
            table.set(key, index, now)
            reference.pop(key, None)
            reference[key] = (index, now)
        elif op == "get":
            assert table.get(key, now) == live(now).get(key)
        elif op == "pop":
            assert table.pop(key, now) == live(now).get(key)
            reference.pop(key, None)
        else:
            expired = [(k, v) for k, (v, t) in reference.items() if now - t >= 4]
            assert table.expire(now) == expired
            reference = {k: entry for k, entry in reference.items() if now - entry[1] < 4}
        assert table.items(now) == list(live(now).items())


# --- SlidingCounter --------------------------------------------------------------------------------------


def test_sliding_counter_counts_within_the_window_and_forgets_after_it() -> None:
    counter: SlidingCounter[str] = SlidingCounter(window=60, max_keys=10, buckets=6)
    for second in range(10):
        counter.add("198.51.100.7", now=1000 + second)
    assert counter.total("198.51.100.7", now=1009) == 10
    assert counter.add("198.51.100.7", now=1050, amount=5) == 15
    assert counter.total("198.51.100.7", now=1080) == 5  # the first burst has left the window
    assert counter.total("198.51.100.7", now=1200) == 0
    assert counter.total("never-seen", now=1200) == 0


def test_sliding_counter_counts_a_late_record_at_the_latest_time_seen() -> None:
    counter: SlidingCounter[str] = SlidingCounter(window=10, max_keys=10, buckets=5)
    counter.add("a", now=100)
    assert counter.add("a", now=20) == 2  # not dropped, not filed 80 s in the past
    assert counter.total("a", now=109) == 2


@pytest.mark.parametrize(("later", "evicted"), [(11.875, 1), (12.0, 0)])
def test_sliding_counter_key_is_free_to_drop_exactly_when_its_total_reaches_zero(
    later: float, evicted: int
) -> None:
    counter: SlidingCounter[str] = SlidingCounter(window=10, max_keys=1, buckets=5)
    counter.add("a", now=0)
    assert counter.total("a", now=later) == evicted  # bucket [0, 2) is still in range until 12
    counter.add("b", now=later)
    assert counter.evictions == evicted


def test_sliding_counter_expire_drops_only_keys_with_nothing_left() -> None:
    counter: SlidingCounter[str] = SlidingCounter(window=10, max_keys=10, buckets=5)
    counter.add("old", now=0)
    counter.add("new", now=15)
    assert counter.expire(now=15) == 1
    assert counter.total("new", now=15) == 1
    assert len(counter) == 1


@given(
    raw_steps=steps,
    keys=st.lists(st.integers(0, 3), min_size=120, max_size=120),
    amounts=st.lists(st.integers(1, 3), min_size=120, max_size=120),
    width_eighths=st.integers(1, 40),
    buckets=st.integers(1, 10),
)
def test_sliding_counter_total_stays_within_the_documented_bound_of_a_brute_force_count(
    raw_steps: list[int], keys: list[int], amounts: list[int], width_eighths: int, buckets: int
) -> None:
    width = width_eighths / 8
    window = width * buckets
    counter: SlidingCounter[int] = SlidingCounter(window=window, max_keys=10, buckets=buckets)
    _, times = event_times(raw_steps)
    seen: list[tuple[int, float, int]] = []

    def exact(key: int, now: float, span: float) -> int:
        return sum(amount for k, t, amount in seen if k == key and now - t < span)

    for key, now, amount in zip(keys, times, amounts, strict=False):
        seen.append((key, now, amount))
        total = counter.add(key, now, amount)
        assert exact(key, now, window) <= total <= exact(key, now, window + width)
    later = times[-1] + window / 2
    for key in range(4):
        total = counter.total(key, later)
        assert exact(key, later, window) <= total <= exact(key, later, window + width)


# --- DistinctCounter -------------------------------------------------------------------------------------


def test_distinct_counter_counts_distinct_items_per_key_in_the_window() -> None:
    users: DistinctCounter[str, str] = DistinctCounter(window=60, max_keys=10, max_items_per_key=100)
    assert users.add("203.0.113.9", "100", now=0) == 1
    assert users.add("203.0.113.9", "100", now=1) == 1
    assert users.add("203.0.113.9", "101", now=2) == 2
    assert users.add("203.0.113.8", "100", now=2) == 1
    assert users.count("203.0.113.9", now=60.5) == 2
    assert users.count("203.0.113.9", now=61.5) == 1  # "100" was last seen at 1
    assert users.count("203.0.113.9", now=62) == 0


def test_distinct_counter_saturates_at_the_per_key_cap_and_counts_displaced_items() -> None:
    users: DistinctCounter[str, int] = DistinctCounter(window=60, max_keys=10, max_items_per_key=3)
    counts = [users.add("scanner", extension, now=extension) for extension in range(10)]
    assert counts == [1, 2, 3, 3, 3, 3, 3, 3, 3, 3]
    assert users.item_evictions == 7
    assert users.sizes()["items"] == 3
    assert users.sizes()["item_evictions"] == 7


@given(
    raw_steps=steps,
    events=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 9)), min_size=120, max_size=120),
    cap=st.integers(1, 6),
)
def test_distinct_counter_is_exactly_the_brute_force_distinct_count_capped(
    raw_steps: list[int], events: list[tuple[int, int]], cap: int
) -> None:
    window = 3.0
    counter: DistinctCounter[int, int] = DistinctCounter(window=window, max_keys=10, max_items_per_key=cap)
    _, times = event_times(raw_steps)
    seen: list[tuple[int, int, float]] = []

    def exact(key: int, now: float) -> int:
        return min(cap, len({item for k, item, t in seen if k == key and now - t < window}))

    for (key, item), now in zip(events, times, strict=False):
        seen.append((key, item, now))
        assert counter.add(key, item, now) == exact(key, now)
    for key in range(3):
        assert counter.count(key, times[-1] + 1) == exact(key, times[-1] + 1)


# --- KeyedSamples ----------------------------------------------------------------------------------------


def test_keyed_samples_keep_the_first_samples_and_count_all_offered() -> None:
    evidence: KeyedSamples[str, str] = KeyedSamples(max_keys=10, samples_per_key=2)
    assert evidence.add("198.51.100.1", "REGISTER 100")
    assert evidence.add("198.51.100.1", "REGISTER 101")
    assert not evidence.add("198.51.100.1", "REGISTER 102")
    assert evidence.get("198.51.100.1") == ("REGISTER 100", "REGISTER 101")
    assert evidence.offered("198.51.100.1") == 3
    assert evidence.sizes()["items"] == 2
    assert evidence.pop("198.51.100.1") == ("REGISTER 100", "REGISTER 101")
    assert evidence.get("198.51.100.1") == ()
    assert evidence.offered("198.51.100.1") == 0
    assert evidence.pop("198.51.100.1") == ()


@given(st.lists(st.tuples(st.integers(0, 4), st.integers()), max_size=100), st.integers(1, 5))
def test_keyed_samples_hold_the_first_n_samples_of_each_key(events: list[tuple[int, int]], n: int) -> None:
    evidence: KeyedSamples[int, int] = KeyedSamples(max_keys=10, samples_per_key=n)
    for key, sample in events:
        evidence.add(key, sample)
    for key in range(5):
        offered = [sample for k, sample in events if k == key]
        assert evidence.get(key) == tuple(offered[:n])
        assert evidence.offered(key) == len(offered)


def test_keyed_samples_offer_builds_a_sample_only_when_it_is_kept() -> None:
    evidence: KeyedSamples[str, str] = KeyedSamples(max_keys=10, samples_per_key=2)
    built: list[int] = []

    def make(n: int) -> Callable[[], str]:
        return lambda: built.append(n) or f"sample {n}"

    assert [evidence.offer("198.51.100.1", make(n)) for n in range(4)] == [True, True, False, False]
    assert built == [0, 1]
    assert evidence.get("198.51.100.1") == ("sample 0", "sample 1")
    assert evidence.offered("198.51.100.1") == 4


# --- LeakyBucket -----------------------------------------------------------------------------------------


@given(raw_steps=steps, keys=st.lists(st.integers(0, 2), min_size=120, max_size=120))
def test_leaky_bucket_pour_is_add_with_the_level_after_it(raw_steps: list[int], keys: list[int]) -> None:
    poured: LeakyBucket[int] = LeakyBucket(capacity=3, leak_per_second=1.5, max_keys=2)
    added: LeakyBucket[int] = LeakyBucket(capacity=3, leak_per_second=1.5, max_keys=2)
    raw, _ = event_times(raw_steps)
    for key, now in zip(keys, raw, strict=False):
        level = poured.pour(key, now)
        assert (level is None) == added.add(key, now)
        assert level == (None if level is None else added.level(key, now))
    assert (poured.overflows, poured.evictions) == (added.overflows, added.evictions)


def test_leaky_bucket_overflows_on_the_event_past_capacity_then_starts_empty() -> None:
    buckets: LeakyBucket[str] = LeakyBucket(capacity=5, leak_per_second=1, max_keys=10)
    assert [buckets.add("flooder", now=0) for _ in range(6)] == [False] * 5 + [True]
    assert buckets.level("flooder", now=0) == 0
    assert [buckets.add("flooder", now=0) for _ in range(6)] == [False] * 5 + [True]
    assert buckets.overflows == 2


def test_leaky_bucket_never_overflows_at_the_leak_rate() -> None:
    buckets: LeakyBucket[str] = LeakyBucket(capacity=2, leak_per_second=0.5, max_keys=10)
    assert not any(buckets.add("phone", now=2.0 * second) for second in range(1000))
    assert buckets.level("phone", now=2000) == 0


def test_leaky_bucket_expire_drops_drained_buckets() -> None:
    buckets: LeakyBucket[str] = LeakyBucket(capacity=4, leak_per_second=2, max_keys=10)
    buckets.add("a", now=0)
    buckets.add("b", now=1.5)
    assert buckets.expire(now=2) == 1  # "a" drained by t=2 (capacity / leak), "b" maybe not
    assert len(buckets) == 1


@given(
    raw_steps=steps,
    keys=st.lists(st.integers(0, 2), min_size=120, max_size=120),
    capacity=st.integers(1, 6),
    leak_eighths=st.integers(0, 16),
)
def test_leaky_bucket_matches_an_exact_rational_simulation(
    raw_steps: list[int], keys: list[int], capacity: int, leak_eighths: int
) -> None:
    leak = Fraction(leak_eighths, 8)
    buckets: LeakyBucket[int] = LeakyBucket(capacity=capacity, leak_per_second=float(leak), max_keys=10)
    _, times = event_times(raw_steps)
    levels: dict[int, tuple[Fraction, Fraction]] = {}  # key -> (level, last event time)
    for key, now in zip(keys, times, strict=False):
        t = Fraction(now)
        level, last = levels.get(key, (Fraction(0), t))
        level = max(Fraction(0), level - leak * (t - last)) + 1
        overflow = level > capacity
        levels[key] = (Fraction(0) if overflow else level, t)
        assert buckets.add(key, now) == overflow
