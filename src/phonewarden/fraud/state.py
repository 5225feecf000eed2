"""Per-account state: sliding cost/minute windows and the learned hour-of-week baseline.

Windows hold one bucket per minute (merged), so a day window holds at most 1440 buckets however many
calls an attacker places. The baseline keeps, per hour of week, the hour's spend and minutes for the
last `weeks` weeks (float32 arrays: ~8 KB per account at 6 weeks) and judges the current hour against
the median + k * MAD of the same and neighbouring hours (robust: one expensive week does not move it).
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from contextlib import suppress
from dataclasses import dataclass, field
from typing import NamedTuple

from phonewarden.core.windows import TtlMap

HOURS_PER_WEEK = 168
MAX_DIALLED_PER_WINDOW = 5000  # distinct numbers per account per window; beyond, counted as overflow
MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its standard deviation
MAX_LONG_CALLS = 2000  # long calls listed per account (a day of ~7 calls at once, each over 5 minutes)


_ZEROS = array("f", bytes(4 * HOURS_PER_WEEK * 52))  # silent hours are written from this
_INF = math.inf
_NEG_INF = -math.inf


class Sums(NamedTuple):
    cost: float
    minutes: float
    calls: float
    risky: float  # cost to medium/high-risk destinations


class Window:
    """Cost, minutes, calls and risky cost in the last `seconds`, in per-minute buckets.

    Only the longest window is kept up to date on every call; shorter ones are summed from its newest
    buckets on demand (`recent`), which the detector asks for only when the long window's total could
    break a shorter window's limit (a shorter window never holds more than a longer one).

    A call is booked whole in the minute it ended, so the running totals and the buckets stay cheap
    upper bounds. Calls longer than `long_after` seconds are also listed, and `recent` takes out the
    part of each that ran before the window began: a 2-hour conference is 5 minutes of it in the last
    5 minutes, not 2 hours. Shorter calls count whole (at most `long_after` too early).
    """

    __slots__ = (
        "buckets", "calls", "cost", "long", "long_after", "longest", "minutes", "risky", "seconds", "span",
    )  # fmt: skip

    def __init__(self, seconds: int, long_after: float = 300.0) -> None:
        self.seconds = seconds
        self.span = seconds // 60  # whole minutes kept
        self.buckets: deque[list[float]] = deque()  # [minute, cost, minutes, calls, risky cost]
        self.cost = self.minutes = self.calls = self.risky = 0.0
        self.long_after = long_after
        # (end, answered seconds, cost, minutes, risky) of long calls, in arrival order; when full the
        # oldest go, and their early part is no longer taken out: an overestimate, never a miss.
        self.long: deque[tuple[float, float, float, float, float]] = deque(maxlen=MAX_LONG_CALLS)
        self.longest = 0.0  # the longest call ever listed: older ones cannot reach back into the window

    def add(self, now: float, cost: float, minutes: float, risky: float, seconds: float = 0.0) -> None:
        """A call that ended at `now` after `seconds` answered."""
        if seconds > self.long_after:
            self.add_long(now, cost, minutes, risky, seconds)
        self.add_short(now, cost, minutes, risky)

    def add_long(self, now: float, cost: float, minutes: float, risky: float, seconds: float) -> None:
        """List a call longer than `long_after` (then book it with `add_short`; `add` does both)."""
        self.long.append((now, seconds, cost, minutes, risky))
        if seconds > self.longest:
            self.longest = seconds

    def add_short(self, now: float, cost: float, minutes: float, risky: float) -> None:
        """Book a call whole in the minute it ended: all of `add` for a call up to `long_after`."""
        minute = now // 60
        buckets = self.buckets
        if buckets and (last := buckets[-1])[0] == minute:
            last[1] += cost
            last[2] += minutes
            last[3] += 1
            last[4] += risky
        else:
            buckets.append([minute, cost, minutes, 1.0, risky])
            if buckets[0][0] <= minute - self.span:
                self.expire(now)
        self.cost += cost
        self.minutes += minutes
        self.calls += 1
        self.risky += risky

    def take(self, now: float, cost: float, minutes: float, risky: float, seconds: float = 0.0) -> None:
        """Undo `add` with the same arguments (a live estimate replaced by its CDR)."""
        if seconds > self.long_after:
            with suppress(ValueError):  # already dropped
                self.long.remove((now, seconds, cost, minutes, risky))
        minute = now // 60
        for bucket in reversed(self.buckets):
            if bucket[0] < minute:
                return  # that minute left the window: nothing of the call is counted any more
            if bucket[0] == minute:
                bucket[1] -= cost
                bucket[2] -= minutes
                bucket[3] -= 1
                bucket[4] -= risky
                self.cost -= cost
                self.minutes -= minutes
                self.calls -= 1
                self.risky -= risky
                return

    def expire(self, now: float) -> None:
        oldest = (now - self.seconds) // 60
        buckets = self.buckets
        if buckets and buckets[0][0] <= oldest:
            # Runs for most calls of a day-long window: totals in locals, the same subtractions in the
            # same order, stored once.
            cost, minutes, calls, risky = self.cost, self.minutes, self.calls, self.risky
            while buckets and buckets[0][0] <= oldest:
                _, bucket_cost, bucket_minutes, bucket_calls, bucket_risky = buckets.popleft()
                cost -= bucket_cost
                minutes -= bucket_minutes
                calls -= bucket_calls
                risky -= bucket_risky
            self.cost, self.minutes, self.calls, self.risky = cost, minutes, calls, risky
        if not buckets:
            self.cost = self.minutes = self.calls = self.risky = 0.0
        long = self.long
        if long:
            while long and long[0][0] // 60 <= oldest:
                long.popleft()

    def settled(self, now: float) -> bool:
        """True when `expire(now)` would change nothing: the totals are then the whole window's before
        long calls' early parts come off, so `recent` over the whole window can only be lower."""
        oldest = (now - self.seconds) // 60
        buckets, long = self.buckets, self.long
        return bool(buckets) and buckets[0][0] > oldest and (not long or long[0][0] // 60 > oldest)

    def recent(self, seconds: int, now: float) -> Sums:
        """Sums over the last `seconds` (whole minutes), newest buckets first; long calls count only
        from the window's first minute on."""
        if seconds >= self.seconds:
            self.expire(now)
            oldest = (now - self.seconds) // 60
            cost, minutes, calls, risky = self.cost, self.minutes, self.calls, self.risky
        else:
            oldest = (now - seconds) // 60
            cost = minutes = calls = risky = 0.0
            for bucket in reversed(self.buckets):
                if bucket[0] <= oldest:
                    break
                cost += bucket[1]
                minutes += bucket[2]
                calls += bucket[3]
                risky += bucket[4]
        begin = (oldest + 1) * 60  # the window's first second
        reach = begin + self.longest  # a call that ended later began inside the window
        # Newest first for a short window; oldest first for the whole one, where only calls that
        # ended within `longest` of its start can reach back before it.
        for end, length, call_cost, call_minutes, call_risky in (
            self.long if seconds >= self.seconds else reversed(self.long)
        ):
            if end // 60 <= oldest:
                if seconds >= self.seconds:
                    continue  # not expired yet but out of the window's whole minutes
                break  # ended before the window: not in the sums above either
            if end >= reach:
                if seconds >= self.seconds:
                    break
                continue
            early = begin - (end - length)
            if early > 0:
                share = early / length
                cost -= call_cost * share
                minutes -= call_minutes * share
                risky -= call_risky * share
        return Sums(cost, minutes, calls, risky)


class AccountTable(TtlMap[str, "AccountState"]):
    """The detector's accounts: a TtlMap whose `get`, asked once per CDR, is inlined (same result)."""

    def get(self, key: str, now: float) -> AccountState | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if not _NEG_INF < now < _INF:  # math.isfinite without the call
            raise ValueError(f"event time must be finite, got {now!r}")
        latest = self._latest
        if now > latest:
            self._latest = latest = now
        return None if latest - entry.updated >= self.ttl else entry.value

    def current(self, key: str, now: float) -> AccountState | None:
        """`get`; a state whose hour is over is rolled and marked updated, as `set` would (keeps an
        active account from expiring). The detector's first step for every CDR, in one call."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if not _NEG_INF < now < _INF:  # math.isfinite without the call
            raise ValueError(f"event time must be finite, got {now!r}")
        latest = self._latest
        if now > latest:
            self._latest = latest = now
        if latest - entry.updated >= self.ttl:
            return None
        state = entry.value
        if now >= state.hour_end and state.roll(now):
            entry.updated = latest  # what `set` stores: the table's high-water mark, at least `now`
            self._entries.move_to_end(key)
        return state

    def set(self, key: str, value: AccountState, now: float) -> None:
        entry = self._entries.get(key)
        if entry is None:
            super().set(key, value, now)
            return
        entry.updated = self._time(now)  # an existing key: what TtlMap.set does, without the closure
        entry.value = value
        self._entries.move_to_end(key)


@dataclass(slots=True)
class Threshold:
    """What the baseline allows in the current hour of week, and what it learned from."""

    cost: float
    minutes: float
    median_cost: float
    samples: int


@dataclass(slots=True)
class AccountState:
    first_seen: float
    weeks: int
    window: Window
    hour: int = -1  # absolute hour (epoch // 3600) of the hour being summed
    hour_end: float = -1.0  # epoch when `hour` ends: one comparison a CDR tells whether to roll
    hour_cost: float = 0.0
    hour_minutes: float = 0.0
    calls: int = 0
    total_cost: float = 0.0
    last_seen: float = 0.0
    active_slots: int = 0  # bit per hour of week that ever had a call
    countries: set[str] = field(default_factory=set)
    threshold: Threshold | None = None
    cost_history: array[float] = field(default_factory=lambda: array("f"))
    minute_history: array[float] = field(default_factory=lambda: array("f"))
    peak_concurrency: bytearray = field(default_factory=lambda: bytearray(HOURS_PER_WEEK))
    live_hour: int = -1  # hour whose live concurrency maximum is being watched
    live_max: int = 0
    live_alerted: bool = False
    dialled: dict[str, int] = field(default_factory=dict)  # calls per number, this tumbling window
    dialled_before: dict[str, int] = field(default_factory=dict)  # ... and the one before
    dialled_epoch: int = -1
    dialled_overflow: int = 0

    def __post_init__(self) -> None:
        size = HOURS_PER_WEEK * self.weeks
        self.cost_history = array("f", bytes(4 * size))
        self.minute_history = array("f", bytes(4 * size))

    def roll(self, now: float) -> bool:
        """Close finished hours into the history; True when a new hour began."""
        hour = int(now // 3600)
        last = self.hour
        if hour <= last:
            return False
        if last >= 0:
            size = len(self.cost_history)  # HOURS_PER_WEEK * weeks
            costs, minutes = self.cost_history, self.minute_history
            index = last % size
            gap = hour - last
            if gap >= size:  # silent for the whole history: the finished hour has fallen out too
                costs[:] = minutes[:] = _ZEROS[:size]
            else:
                costs[index] = self.hour_cost
                minutes[index] = self.hour_minutes
                if gap > 1:  # the silent hours in between become zeros: slice writes, not a loop
                    first, stop = index + 1, index + gap
                    if stop <= size:
                        costs[first:stop] = minutes[first:stop] = _ZEROS[: gap - 1]
                    else:
                        costs[first:] = minutes[first:] = _ZEROS[: size - first]
                        costs[: stop - size] = minutes[: stop - size] = _ZEROS[: stop - size]
        self.hour, self.hour_cost, self.hour_minutes = hour, 0.0, 0.0
        self.hour_end = (hour + 1) * 3600.0
        self.threshold = None  # computed on demand: most hours never come near it
        return True

    def last_hour_bound(self, now: float) -> tuple[float, float] | None:
        """(cost, minutes) of this clock hour plus the previous one: at least what any window of up
        to 60 minutes ending at `now` holds, so most CDRs skip summing buckets. None when `now` is
        not in the current hour (a late record or a tick ahead of the CDRs): then sum the buckets."""
        if not self.hour_end - 3600.0 <= now < self.hour_end:
            return None
        previous = (self.hour - 1) % (HOURS_PER_WEEK * self.weeks)
        margin = 1.000001  # the history is float32
        return (
            (self.hour_cost + self.cost_history[previous]) * margin + 1e-6,
            (self.hour_minutes + self.minute_history[previous]) * margin + 1e-6,
        )

    def current_threshold(self, mad_factor: float, min_cost: float) -> Threshold | None:
        if self.threshold is None and self.hour >= 0:
            self.threshold = self._threshold(self.hour, mad_factor, min_cost)
        return self.threshold

    def count_dialled(self, number: str, now: float, window: int) -> int:
        """Calls to `number` in this and the previous tumbling `window`: a sliding count over between
        one and two windows, at two dict operations a call (a per-key ring costs ~5x more)."""
        epoch = int(now // window)
        if epoch != self.dialled_epoch:
            # A new window (most calls of a quiet account): the number is its first entry.
            before = self.dialled if epoch == self.dialled_epoch + 1 else {}
            self.dialled_before, self.dialled, self.dialled_epoch = before, {number: 1}, epoch
            return 1 + before.get(number, 0)
        dialled = self.dialled
        count = dialled.get(number)
        if count is None:
            if len(dialled) >= MAX_DIALLED_PER_WINDOW:
                self.dialled_overflow += 1
                return self.dialled_before.get(number, 0)
            count = 0
        dialled[number] = count + 1
        return count + 1 + self.dialled_before.get(number, 0)

    def full_weeks(self, hour: int) -> int:
        return min(self.weeks, int((hour - self.first_seen // 3600) // HOURS_PER_WEEK))

    def _threshold(self, hour: int, mad_factor: float, min_cost: float) -> Threshold | None:
        weeks = self.full_weeks(hour)
        if weeks < 1:
            return None
        size = HOURS_PER_WEEK * self.weeks
        costs: list[float] = []
        minutes: list[float] = []
        for week in range(1, weeks + 1):
            for offset in (-1, 0, 1):  # neighbouring hours too: a meeting runs late, lunch moves
                index = (hour - week * HOURS_PER_WEEK + offset) % size
                costs.append(self.cost_history[index])
                minutes.append(self.minute_history[index])
        cost_limit, cost_median = _robust_limit(costs, mad_factor)
        minute_limit, _ = _robust_limit(minutes, mad_factor)
        return Threshold(
            cost=max(cost_limit, min_cost),
            minutes=max(minute_limit, min_cost * 20),  # ~ the minutes min_cost buys at 5 c/min
            median_cost=cost_median,
            samples=len(costs),
        )

    def usual_slot(self, now: float) -> bool:
        slot = int(now // 3600) % HOURS_PER_WEEK
        mask = self.active_slots
        return any(mask >> ((slot + offset) % HOURS_PER_WEEK) & 1 for offset in (-1, 0, 1))


def _median(ordered: list[float]) -> float:
    """statistics.median of an already sorted list, step for step (it sorts a copy first)."""
    half = len(ordered) // 2
    return ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2


def _robust_limit(values: list[float], factor: float) -> tuple[float, float]:
    ordered = sorted(values)
    median = _median(ordered)
    mad = _median(sorted([abs(value - median) for value in ordered]))
    # A quiet slot (MAD 0) still allows a little more than its busiest sample.
    spread = max(mad * MAD_TO_SIGMA, (ordered[-1] - median) / 2)
    return median + factor * spread, median
