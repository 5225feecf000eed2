"""Event time: the only clock detectors may read.

Detectors never call the wall clock; they read `EventClock.now`, which only records move. Replaying a
capture therefore yields the same findings every time, however fast or slow the replay runs.
"""

from __future__ import annotations

import math


class EventClock:
    """A monotone clock advanced by the times of the records that flow through it.

    A record older than `now` (reordered capture, a slow HEP agent) does not move the clock back: going
    back would reopen windows that were already judged. The record is still processed, at `now`, and
    counted in `late` so the operator can see how out of order the input is.
    """

    __slots__ = ("_now", "late", "max_lateness", "observed")

    def __init__(self, start: float = 0.0) -> None:
        self._now = _finite(start)
        self.observed = 0
        self.late = 0
        self.max_lateness = 0.0  # seconds the latest-arriving record trailed `now` by, at worst

    @property
    def now(self) -> float:
        return self._now

    def observe(self, t: float) -> float:
        """Advance to record time `t` unless it is in the past; return the new `now`."""
        t = _finite(t)
        self.observed += 1
        if t >= self._now:
            self._now = t
        else:
            self.late += 1
            self.max_lateness = max(self.max_lateness, self._now - t)
        return self._now


def _finite(t: float) -> float:
    # A NaN would compare false with everything and silently freeze or corrupt every window.
    if not math.isfinite(t):
        raise ValueError(f"event time must be a finite number of seconds, got {t!r}")
    return float(t)
