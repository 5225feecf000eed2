"""Bounded keyed state driven by event time: TTL maps, sliding counters, distinct counters, samples, buckets.

Every table here is keyed by something an attacker chooses (source address, username, Call-ID), so every
table is bounded: it holds at most `max_keys` keys, and when a new key arrives at a full table the key
updated least recently goes. `evictions` counts keys that went while still holding live state; it is
exported as a metric, because a table that evicts under load is a detector an attacker can blind by
spraying keys. Keys whose state has already run out are dropped first and are not counted.

Time is always passed in (from `EventClock.now`), never read from the wall clock. Each table keeps its
own high-water mark and treats an earlier `now` as that mark, so a late record counts as "now" rather
than reaching back into a window that was already judged; this keeps key order equal to update order,
which is what lets stale keys be dropped from the front in O(1) each.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from itertools import compress
from typing import Generic, TypeVar

from mypy_extensions import mypyc_attr

K = TypeVar("K", bound=Hashable)
T = TypeVar("T", bound=Hashable)
V = TypeVar("V")
E = TypeVar("E")
_INF = math.inf
_NEG_INF = -math.inf


# Every table: compiled (phonewarden/_accel.py) and open to interpreted subclasses (fraud.state.AccountTable)
@mypyc_attr(allow_interpreted_subclasses=True)
class _BoundedTable(Generic[K, E]):
    """Shared skeleton: an LRU-by-update OrderedDict of entries with a key cap and an event-time mark."""

    def __init__(self, max_keys: int) -> None:
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1, got {max_keys}")
        self.max_keys = max_keys
        self.evictions = 0
        self._entries: OrderedDict[K, E] = OrderedDict()
        self._latest = -math.inf

    def __len__(self) -> int:
        return len(self._entries)

    def sizes(self) -> dict[str, int]:
        """Numbers for metrics: keys held, the cap, and live keys evicted so far."""
        return {"keys": len(self._entries), "max_keys": self.max_keys, "evictions": self.evictions}

    def _time(self, now: float) -> float:
        if not _NEG_INF < now < _INF:  # math.isfinite without the call: this runs several times a message
            raise ValueError(f"event time must be finite, got {now!r}")
        if now > self._latest:
            self._latest = now
            return now
        return self._latest

    def _is_stale(self, entry: E, now: float) -> bool:
        """True when dropping the entry loses nothing; must only grow with the entry's age."""
        raise NotImplementedError

    def _drop_stale(self, now: float) -> list[tuple[K, E]]:
        # Entries are in update order and staleness grows with age, so the stale ones form a prefix.
        dropped: list[tuple[K, E]] = []
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if not self._is_stale(entry, now):
                break
            del self._entries[key]
            dropped.append((key, entry))
        return dropped

    def _touch(self, key: K, now: float | None, create: Callable[[], E]) -> E:
        """The entry for `key`, created (making room if full) if new, marked as most recently updated."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            return entry
        self._make_room(now)
        entry = create()
        self._entries[key] = entry
        return entry

    def _make_room(self, now: float | None) -> None:
        """Before adding a key: if the table is full, drop stale keys, else evict the least recent one."""
        if len(self._entries) >= self.max_keys:
            if now is not None:
                self._drop_stale(now)
            if len(self._entries) >= self.max_keys:
                self._entries.popitem(last=False)
                self.evictions += 1


class _Timed(Generic[V]):  # plain classes, not dataclasses: mypyc compiles no generic dataclass
    __slots__ = ("updated", "value")

    def __init__(self, value: V, updated: float) -> None:
        self.value = value
        self.updated = updated


@mypyc_attr(allow_interpreted_subclasses=True)
class TtlMap(_BoundedTable[K, _Timed[V]]):
    """Key -> value, each entry live for `ttl` seconds after it was last set.

    Uses: "this source authenticated recently, trust it for N seconds"; pending request <-> response
    matching (an INVITE waiting for its final answer). An entry is live while `now - set_time < ttl`.
    Expired entries are dropped lazily; call `expire(now)` to collect them (e.g. unanswered requests) —
    those dropped to make room for a new key are not reported there.
    """

    def __init__(self, ttl: float, max_keys: int) -> None:
        if not ttl > 0:
            raise ValueError(f"ttl must be positive, got {ttl}")
        super().__init__(max_keys)
        self.ttl = float(ttl)

    def _is_stale(self, entry: _Timed[V], now: float) -> bool:
        return now - entry.updated >= self.ttl

    # set/get/contains/pop run several times per SIP message in the shield: _time, _touch and _is_stale
    # are written out in them (same steps), which saves a closure and up to three method calls each.

    def set(self, key: K, value: V, now: float) -> None:
        if not _NEG_INF < now < _INF:  # _time written out
            raise ValueError(f"event time must be finite, got {now!r}")
        if now > self._latest:
            self._latest = t = now
        else:
            t = self._latest
        entries = self._entries
        entry = entries.get(key)
        if entry is None:
            if len(entries) >= self.max_keys:  # _make_room's own first check: most keys find room
                self._make_room(t)
            entries[key] = _Timed(value, t)
            return
        self._entries.move_to_end(key)
        entry.value = value
        entry.updated = t

    def get(self, key: K, now: float) -> V | None:
        entry = self._entries.get(key)
        if entry is None or self._time(now) - entry.updated >= self.ttl:
            return None
        return entry.value

    def contains(self, key: K, now: float) -> bool:
        entry = self._entries.get(key)
        if entry is None:
            return False
        if not _NEG_INF < now < _INF:  # _time written out
            raise ValueError(f"event time must be finite, got {now!r}")
        if now > self._latest:
            self._latest = now
        return self._latest - entry.updated < self.ttl

    def pop(self, key: K, now: float) -> V | None:
        """Remove `key`; return its value if it was still live."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return None
        if not _NEG_INF < now < _INF:  # _time written out
            raise ValueError(f"event time must be finite, got {now!r}")
        if now > self._latest:
            self._latest = now
        return entry.value if self._latest - entry.updated < self.ttl else None

    def expire(self, now: float) -> list[tuple[K, V]]:
        """Drop every expired entry and return them, oldest first."""
        return [(key, entry.value) for key, entry in self._drop_stale(self._time(now))]

    def items(self, now: float) -> list[tuple[K, V]]:
        """Live entries, least recently set first."""
        t = self._time(now)
        return [(key, entry.value) for key, entry in self._entries.items() if not self._is_stale(entry, t)]


@dataclass(slots=True)
class _Ring:
    counts: list[int]
    stamps: list[int]  # absolute bucket index each slot currently holds
    updated: float


@mypyc_attr(allow_interpreted_subclasses=True)
class SlidingCounter(_BoundedTable[K, _Ring]):
    """Per-key event count over the last `window` seconds, in a ring of `buckets + 1` time buckets.

    Memory per key is O(buckets). Error bound, with w = window / buckets:
        count(age < window)  <=  total  <=  count(age < window + w)
    i.e. never below the exact count (a threshold is never missed), and over it only by events from the
    one partial bucket at the far edge of the window. More buckets, tighter bound.
    """

    def __init__(self, window: float, max_keys: int, buckets: int = 10) -> None:
        if not window > 0:
            raise ValueError(f"window must be positive, got {window}")
        if buckets < 1:
            raise ValueError(f"buckets must be at least 1, got {buckets}")
        super().__init__(max_keys)
        self.window = float(window)
        self.buckets = buckets
        self._width = self.window / buckets

    def _bucket(self, t: float) -> int:
        return math.floor(t / self._width)

    def _is_stale(self, entry: _Ring, now: float) -> bool:
        return self._bucket(now) - self._bucket(entry.updated) > self.buckets

    def _sum(self, ring: _Ring, current: int) -> int:
        oldest = current - self.buckets
        # the counts of the slots stamped `oldest` or later, selected at C speed (no generator)
        return sum(compress(ring.counts, map(oldest.__le__, ring.stamps)))

    def add(self, key: K, now: float, amount: int = 1) -> int:
        """Count `amount` events for `key` at `now`; return the key's total in the window."""
        if not _NEG_INF < now < _INF:  # _time written out: this runs for most messages
            raise ValueError(f"event time must be finite, got {now!r}")
        if now > self._latest:
            self._latest = t = now
        else:
            t = self._latest
        slots = self.buckets + 1
        ring = self._entries.get(key)
        if ring is None:  # _touch written out: no closure per event
            self._make_room(t)
            ring = self._entries[key] = _Ring([0] * slots, [0] * slots, t)
        else:
            self._entries.move_to_end(key)
        current = math.floor(t / self._width)  # _bucket and _sum written out
        slot = current % slots
        stamps, counts = ring.stamps, ring.counts
        if stamps[slot] != current:  # the slot still holds a bucket that has left the window
            stamps[slot] = current
            counts[slot] = 0
        counts[slot] += amount
        ring.updated = t
        return sum(compress(counts, map((current - self.buckets).__le__, stamps)))

    def total(self, key: K, now: float) -> int:
        ring = self._entries.get(key)
        t = self._time(now)
        return 0 if ring is None else self._sum(ring, self._bucket(t))

    def expire(self, now: float) -> int:
        """Drop keys with nothing left in the window; return how many."""
        return len(self._drop_stale(self._time(now)))


class _Seen(Generic[T]):
    __slots__ = ("last_seen", "updated")

    def __init__(self) -> None:
        self.last_seen: OrderedDict[T, float] = OrderedDict()
        self.updated = 0.0


@mypyc_attr(allow_interpreted_subclasses=True)
class DistinctCounter(_BoundedTable[K, _Seen[T]]):
    """Per key, how many distinct items were seen in the last `window` seconds (age < window).

    E.g. distinct usernames tried per source address. Each key keeps at most `max_items_per_key` items,
    the most recently seen ones, so the count saturates: it is exactly min(true distinct count, cap).
    Set detector thresholds at or below the cap. `item_evictions` counts live items pushed out by the cap.
    """

    def __init__(self, window: float, max_keys: int, max_items_per_key: int) -> None:
        if not window > 0:
            raise ValueError(f"window must be positive, got {window}")
        if max_items_per_key < 1:
            raise ValueError(f"max_items_per_key must be at least 1, got {max_items_per_key}")
        super().__init__(max_keys)
        self.window = float(window)
        self.max_items_per_key = max_items_per_key
        self.item_evictions = 0

    def _is_stale(self, entry: _Seen[T], now: float) -> bool:
        return now - entry.updated >= self.window

    def _forget_old(self, seen: _Seen[T], now: float) -> None:
        items = seen.last_seen
        while items and now - next(iter(items.values())) >= self.window:
            items.popitem(last=False)

    def add(self, key: K, item: T, now: float) -> int:
        """Record `item` for `key` at `now`; return the key's distinct count in the window."""
        if not _NEG_INF < now < _INF:  # _time written out: this runs for most messages
            raise ValueError(f"event time must be finite, got {now!r}")
        if now > self._latest:
            self._latest = t = now
        else:
            t = self._latest
        seen = self._entries.get(key)
        if seen is None:  # _touch written out, as in the other hot paths
            self._make_room(t)
            seen = self._entries[key] = _Seen()
        else:
            self._entries.move_to_end(key)
        items = seen.last_seen
        items[item] = t
        items.move_to_end(item)
        seen.updated = t
        # _forget_old written out; `items` is never empty here: `item` was just seen at t
        window = self.window
        while t - next(iter(items.values())) >= window:
            items.popitem(last=False)
        if len(items) > self.max_items_per_key:
            items.popitem(last=False)
            self.item_evictions += 1
        return len(items)

    def count(self, key: K, now: float) -> int:
        seen = self._entries.get(key)
        if seen is None:
            return 0
        self._forget_old(seen, self._time(now))
        return len(seen.last_seen)

    def expire(self, now: float) -> int:
        """Drop keys with nothing left in the window; return how many."""
        return len(self._drop_stale(self._time(now)))

    def sizes(self) -> dict[str, int]:
        items = sum(len(seen.last_seen) for seen in self._entries.values())
        return {**super().sizes(), "items": items, "item_evictions": self.item_evictions}


class _Samples(Generic[V]):
    __slots__ = ("kept", "offered")

    def __init__(self) -> None:
        self.kept: list[V] = []
        self.offered = 0


@mypyc_attr(allow_interpreted_subclasses=True)
class KeyedSamples(_BoundedTable[K, _Samples[V]]):
    """The first `samples_per_key` evidence samples per key (Zeek SumStats `num_samples` style).

    Keeps the first ones because they show how an attack began; `offered` says how many there were in all.
    No time: the table is bounded by `max_keys`, and detectors `pop` a key when they report it.
    """

    def __init__(self, max_keys: int, samples_per_key: int) -> None:
        if samples_per_key < 1:
            raise ValueError(f"samples_per_key must be at least 1, got {samples_per_key}")
        super().__init__(max_keys)
        self.samples_per_key = samples_per_key

    def _is_stale(self, entry: _Samples[V], now: float) -> bool:
        return False

    def add(self, key: K, sample: V) -> bool:
        """Offer a sample; return True if it was kept."""
        samples = self._touch(key, None, _Samples)
        samples.offered += 1
        if len(samples.kept) >= self.samples_per_key:
            return False
        samples.kept.append(sample)
        return True

    def offer(self, key: K, make: Callable[[], V]) -> bool:
        """`add(key, make())`, but `make` is called only if the sample is kept (building one costs)."""
        entries = self._entries
        samples = entries.get(key)
        if samples is None:  # _touch written out: detectors offer a sample for most failures they see
            self._make_room(None)
            samples = entries[key] = _Samples()
        else:
            entries.move_to_end(key)
        samples.offered += 1
        if len(samples.kept) >= self.samples_per_key:
            return False
        samples.kept.append(make())
        return True

    def get(self, key: K) -> tuple[V, ...]:
        samples = self._entries.get(key)
        return () if samples is None else tuple(samples.kept)

    def offered(self, key: K) -> int:
        samples = self._entries.get(key)
        return 0 if samples is None else samples.offered

    def pop(self, key: K) -> tuple[V, ...]:
        samples = self._entries.pop(key, None)
        return () if samples is None else tuple(samples.kept)

    def sizes(self) -> dict[str, int]:
        items = sum(len(samples.kept) for samples in self._entries.values())
        return {**super().sizes(), "items": items}


@dataclass(slots=True)
class _Level:
    level: float
    updated: float


@mypyc_attr(allow_interpreted_subclasses=True)
class LeakyBucket(_BoundedTable[K, _Level]):
    """CrowdSec-style leaky bucket per key: each event pours `amount` in, it drains at `leak_per_second`.

    `add` returns True when the level would exceed `capacity` (capacity 5 overflows on the 6th event of a
    burst). As in CrowdSec, an overflowing bucket is emptied, so a sustained flood overflows again after
    another `capacity` worth of events rather than on every event. A bucket counts as spent only once
    `capacity / leak_per_second` seconds have passed since its last event, so `evictions` may include a
    bucket that had already drained (errs towards reporting pressure, never hides it).
    """

    def __init__(self, capacity: float, leak_per_second: float, max_keys: int) -> None:
        if not capacity > 0:
            raise ValueError(f"capacity must be positive, got {capacity}")
        if not leak_per_second >= 0:
            raise ValueError(f"leak_per_second must not be negative, got {leak_per_second}")
        super().__init__(max_keys)
        self.capacity = float(capacity)
        self.leak_per_second = float(leak_per_second)
        self.overflows = 0

    def _is_stale(self, entry: _Level, now: float) -> bool:
        # A stored level never exceeds capacity, so this long after the last event any bucket is empty.
        # Judged by age alone (not the level) so that staleness grows with age, as the table requires.
        return self.leak_per_second > 0 and (now - entry.updated) * self.leak_per_second >= self.capacity

    def _drained(self, entry: _Level, now: float) -> float:
        return max(0.0, entry.level - self.leak_per_second * (now - entry.updated))

    def add(self, key: K, now: float, amount: float = 1.0) -> bool:
        return self.pour(key, now, amount) is None

    def pour(self, key: K, now: float, amount: float = 1.0) -> float | None:
        """`add`, returning the level after the event, or None when it overflowed (the bucket is then
        empty): a caller that wants both saves the `level` lookup."""
        if not _NEG_INF < now < _INF:  # _time written out: this runs for most messages
            raise ValueError(f"event time must be finite, got {now!r}")
        if now > self._latest:
            self._latest = t = now
        else:
            t = self._latest
        entries = self._entries
        entry = entries.get(key)
        if entry is None:  # _touch and _drained written out: this runs for every request
            self._make_room(t)
            entry = entries[key] = _Level(0.0, t)
        else:
            entries.move_to_end(key)
        level = entry.level - self.leak_per_second * (t - entry.updated)
        level = (level if level > 0.0 else 0.0) + amount
        entry.updated = t
        if level > self.capacity:
            entry.level = 0.0
            self.overflows += 1
            return None
        entry.level = level
        return level

    def level(self, key: K, now: float) -> float:
        entry = self._entries.get(key)
        return 0.0 if entry is None else self._drained(entry, self._time(now))

    def expire(self, now: float) -> int:
        """Drop keys whose bucket has surely drained; return how many."""
        return len(self._drop_stale(self._time(now)))
