"""Pure detectors over rated CDRs in event time (the CDR's end): each alert says what, how far from normal,
and which calls. State is bounded: per-account state and every keyed table live in core.windows tables.
"""

from __future__ import annotations

from collections.abc import Sequence

from phonewarden.core.windows import DistinctCounter, TtlMap
from phonewarden.fraud.cdr import Cdr
from phonewarden.fraud.rating import Rater, Rating
from phonewarden.fraud.records import Alert, raise_severity
from phonewarden.fraud.settings import FraudSettings, WindowLimit
from phonewarden.fraud.state import HOURS_PER_WEEK, AccountState, AccountTable, Sums, Window

DAY = 86400.0
MAX_OLD_NUMBERS = 500_000
# One first call to a new country only asks for a look; restriction needs spend, repetition or a chain.
RISKY = frozenset({"medium", "high"})
RISK_SEVERITY = {"none": "low", "low": "low", "medium": "low", "high": "medium"}


def _where(rating: Rating) -> str:
    """The destination as alerts explain it; built only when an alert is raised."""
    return f"+{rating.e164} ({rating.country or '?'}, {rating.number_type}, {rating.label or rating.scope})"


def money(value: float, currency: str) -> str:
    return f"{currency} {value:.2f}"


class FraudDetector:
    def __init__(self, settings: FraudSettings, rater: Rater) -> None:
        self.settings = settings
        self.rater = rater
        self.currency = settings.currency
        self.limits = sorted(settings.windows, key=lambda limit: limit.seconds)
        self.kept_seconds = max(3600, self.limits[-1].seconds)  # the baseline needs the last hour
        self.smallest_cost = min(limit.max_cost for limit in self.limits)
        self.smallest_minutes = min(limit.max_minutes for limit in self.limits)
        # At or below both, `_spend` has nothing to do: no window limit and no baseline floor is crossed.
        self.quiet_cost = min(self.smallest_cost, settings.baseline_min_cost)
        self.quiet_minutes = min(self.smallest_minutes, settings.baseline_min_cost * 20)
        keep = (settings.baseline_weeks * 7 + 1) * DAY
        self.accounts = AccountTable(keep, settings.max_accounts)
        self.ranges: DistinctCounter[tuple[str, str], str] = DistinctCounter(
            settings.sequential_window_s, 200_000, settings.range_distinct_limit + 1
        )
        # Wangiri: low-risk numbers need twice the accounts; a number counts as new for two windows.
        self.wangiri_low_risk_accounts = 2 * settings.wangiri_accounts
        self.wangiri_new_s = 2 * settings.wangiri_window_s
        self.callers: DistinctCounter[str, str] = DistinctCounter(
            settings.wangiri_window_s, 100_000, self.wangiri_low_risk_accounts + 1
        )
        self.known_numbers: TtlMap[str, float] = TtlMap(30 * DAY, 500_000)
        self.old_numbers: set[str] = set()  # numbers abroad first seen more than two Wangiri windows ago
        self.flagged: TtlMap[str, str] = TtlMap(DAY, 100_000)  # subject -> shield finding reason
        self.alerted: TtlMap[tuple[str, str], float] = TtlMap(settings.alert_repeat_s, 200_000)
        self.cdrs = 0
        self.total_cost = 0.0
        self.warmup_seconds = settings.warmup_days * DAY
        # Settings read for every CDR, kept as plain attributes (one lookup, not two).
        self.sequential_window_s = settings.sequential_window_s
        self.sequential_limit = settings.sequential_limit
        self.baseline_min_cost = settings.baseline_min_cost
        self.baseline_mad_factor = settings.baseline_mad_factor
        self.max_rate_without_review = settings.max_rate_without_review
        self._ratings = rater.ratings  # the rater's cache by dialled string (cleared, never replaced)

    # -- state -------------------------------------------------------------------------------------
    def state(self, account: str, now: float) -> AccountState:
        state = self.accounts.get(account, now)
        if state is None:
            window = Window(self.kept_seconds)
            state = AccountState(first_seen=now, weeks=self.settings.baseline_weeks, window=window)
            self.accounts.set(account, state, now)
        if now >= state.hour_end and state.roll(now):
            self.accounts.set(account, state, now)  # keeps an active account from expiring
        return state

    def warm(self, state: AccountState, now: float) -> bool:
        return now - state.first_seen >= self.warmup_seconds

    def note_shield_finding(self, subject: str, reason: str, now: float) -> None:
        """A shield finding (failed registrations, new source) about an account, user or address."""
        self.flagged.set(subject, reason, now)

    # -- per CDR -----------------------------------------------------------------------------------
    def process(self, cdr: Cdr) -> list[Alert]:
        # The hot path of a backtest (>100k CDRs/s): plain comparisons first, work only when needed.
        now = cdr.end
        rating = self._ratings.get(cdr.destination) or self.rater.rate(cdr.destination)
        billsec = cdr.billsec
        cost = rating.rate * billsec / 60.0 if cdr.cost is None else cdr.cost
        minutes = billsec / 60.0
        self.cdrs += 1
        self.total_cost += cost
        account = cdr.account
        state = self.accounts.current(account, now)  # rolled into the hour of `now`
        if state is None:
            state = self.state(account, now)
        state.hour_cost += cost
        state.hour_minutes += minutes
        state.calls += 1
        state.total_cost += cost
        state.last_seen = now
        window = state.window
        risky = cost if rating.risk in RISKY else 0.0
        if billsec > window.long_after:  # Window.add, inlined: most calls are short
            window.add_long(now, cost, minutes, risky, billsec)
        window.add_short(now, cost, minutes, risky)
        alerts: list[Alert] = []
        if window.cost > self.quiet_cost or window.minutes > self.quiet_minutes:
            self._spend(cdr, state, alerts)  # else neither a fixed limit nor the baseline can be near
        if rating.e164:
            self._destination(cdr, rating, state, cost, alerts)
        if billsec > 0 and rating.scope != "internal":
            slot_bit = 1 << (int(now // 3600) % HOURS_PER_WEEK)
            if (
                not state.active_slots & slot_bit
                and cost > 0
                and now - state.first_seen >= self.warmup_seconds
                and not state.usual_slot(now)
            ):
                self._alert(
                    alerts,
                    cdr,
                    "unusual-hours",
                    "low",
                    "call outside the account's usual hours "
                    f"(no calls in this hour of week for {state.full_weeks(state.hour)} weeks)",
                    cost,
                )
            state.active_slots |= slot_bit
        if alerts:
            self._chain(cdr, alerts)
        return alerts

    def over_limit(
        self,
        state: AccountState,
        now: float,
        extra_cost: float = 0.0,
        running: Sequence[tuple[float, float]] = (),
    ) -> tuple[WindowLimit, Sums] | None:
        """The shortest fixed window whose cost or minutes limit is broken, with its sums, or None.

        `running`: calls still open as (answered at, price per minute); each adds only what it cost
        inside the window, as a finished call does. `extra_cost` is added to every window whole."""
        window = state.window
        most = extra_cost
        if running:
            most += sum(rate * (now - answered) / 60.0 for answered, rate in running)
        if window.cost + most <= self.smallest_cost and window.minutes <= self.smallest_minutes:
            return None  # no shorter window can hold more than the longest one
        bound = state.last_hour_bound(now)
        for limit in self.limits:
            extra = most
            if running:
                span = limit.seconds
                extra = extra_cost + sum(rate * min(now - start, span) / 60.0 for start, rate in running)
            if (
                limit.seconds <= 3600
                and bound is not None
                and bound[0] + extra <= limit.max_cost
                and bound[1] <= limit.max_minutes
            ):
                continue  # even the last two clock hours together stay within this limit
            if (
                limit.seconds >= window.seconds
                and window.cost + extra <= limit.max_cost
                and window.minutes <= limit.max_minutes
                and window.settled(now)
            ):
                continue  # the whole window's totals stay within: its sums cannot be more
            sums = window.recent(limit.seconds, now)
            if sums.cost + extra > limit.max_cost or sums.minutes > limit.max_minutes:
                return limit, sums
        return None

    def _spend(self, cdr: Cdr, state: AccountState, alerts: list[Alert]) -> None:
        broken = self.over_limit(state, cdr.end)
        if broken is not None:
            limit, sums = broken
            if sums.cost > limit.max_cost:
                what = (
                    f"spent {money(sums.cost, self.currency)} (limit {money(limit.max_cost, self.currency)})"
                )
            else:
                what = f"{sums.minutes:.0f} minutes (limit {limit.max_minutes:.0f})"
            self._alert(
                alerts,
                cdr,
                "spend-limit",
                "critical",
                f"{what} in {limit.seconds // 60} min over {sums.calls:.0f} calls",
                sums.cost,
            )
            return
        window = state.window
        floor = self.baseline_min_cost  # every threshold allows at least this much
        now = cdr.end
        if window.cost <= floor and window.minutes <= floor * 20:
            return
        if now - state.first_seen < self.warmup_seconds:
            return  # not warm yet: `warm`, written out
        threshold = state.current_threshold(self.baseline_mad_factor, floor)
        if threshold is None or (window.cost <= threshold.cost and window.minutes <= threshold.minutes):
            return
        bound = state.last_hour_bound(now)
        if bound is not None and bound[0] <= threshold.cost and bound[1] <= threshold.minutes:
            return
        hour = window.recent(3600, cdr.end)
        if hour.calls < self.settings.baseline_min_calls:
            return
        if hour.cost > threshold.cost or hour.minutes > threshold.minutes:
            risky_share = hour.risky / hour.cost if hour.cost > 0 else 0.0
            # Money to risky places is what toll fraud looks like; many minutes alone is a busy day.
            severity = "high" if hour.cost > threshold.cost and risky_share >= 0.5 else "medium"
            self._alert(
                alerts,
                cdr,
                "baseline",
                severity,
                f"spent {money(hour.cost, self.currency)} / {hour.minutes:.0f} min in 60 min; this hour of "
                f"week normally {money(threshold.median_cost, self.currency)} (allowed "
                f"{money(threshold.cost, self.currency)}, {threshold.samples} samples); "
                f"{risky_share:.0%} to risky destinations",
                hour.cost,
            )

    def _destination(
        self, cdr: Cdr, rating: Rating, state: AccountState, cost: float, alerts: list[Alert]
    ) -> None:
        now, number = cdr.end, rating.e164
        international = rating.international  # valid or not: an unknown range still costs
        if international and rating.country not in state.countries:
            if len(state.countries) < 200:
                state.countries.add(rating.country)
            if self.warm(state, now):
                severity = RISK_SEVERITY[rating.risk]
                country = rating.country or "an unknown country code"
                self._alert(
                    alerts,
                    cdr,
                    "new-country",
                    severity,
                    f"first call to {country} from this account: {_where(rating)}",
                    cost,
                    number,
                )
        if rating.risk == "high" or rating.rate > self.max_rate_without_review:
            rate = money(rating.rate, self.currency)
            self._alert(
                alerts,
                cdr,
                "high-risk-destination",
                "medium",
                f"call to {_where(rating)} at {rate}/min, risk {rating.risk}",
                cost,
                number,
            )
        repeats = state.count_dialled(number, now, self.sequential_window_s)
        if repeats >= self.sequential_limit:
            self._alert(
                alerts,
                cdr,
                "sequential",
                "high" if rating.risk != "none" else "medium",
                f"{repeats} calls to {_where(rating)} within {self.settings.sequential_window_s // 60} min",
                cost,
                number,
            )
        if not international:
            return  # the range and Wangiri tables are about numbers abroad
        if len(number) > 6:
            block = number[:-3]
            distinct = self.ranges.add((cdr.account, block), number, now)
            if distinct >= self.settings.range_distinct_limit:
                self._alert(
                    alerts,
                    cdr,
                    "number-range",
                    "high",
                    f"{distinct} different numbers in +{block}xxx within "
                    f"{self.settings.sequential_window_s // 60} min (range dialling)",
                    cost,
                    number,
                )
        if number not in self.old_numbers:  # known for long: no new lure
            self._wangiri(cdr, rating, cost, alerts)

    def _wangiri(self, cdr: Cdr, rating: Rating, cost: float, alerts: list[Alert]) -> None:
        """Many accounts calling one number that appeared only lately: call-backs to a missed-call lure.
        Every international number counts (lures use ordinary-looking ranges too, e.g. UK personal
        numbers); low-risk ones need twice as many accounts, since a new hotline also draws callers."""
        number = rating.e164
        now = cdr.end
        first = self.known_numbers.get(number, now)
        if first is None:
            first = now
            self.known_numbers.set(number, now, now)
        elif now - first > self.wangiri_new_s:
            if len(self.old_numbers) >= MAX_OLD_NUMBERS:
                self.old_numbers.clear()
            self.old_numbers.add(number)
            return
        accounts = self.callers.add(number, cdr.account, now)
        risky = rating.risk in RISKY or rating.number_type == "premium_rate"
        needed = self.settings.wangiri_accounts if risky else self.wangiri_low_risk_accounts
        if accounts >= needed:
            self._alert(
                alerts,
                cdr,
                "wangiri",
                "high",
                f"{accounts} different accounts called {_where(rating)} within "
                f"{self.settings.wangiri_window_s // 60} min; the number first appeared "
                f"{(now - first) / 60:.0f} min ago (call-back to a missed-call lure)",
                cost,
                number,
            )

    def _chain(self, cdr: Cdr, alerts: list[Alert]) -> None:
        """Alerts on an account, user, endpoint or address the shield flagged within a day are `chained`:
        medium and high go up one severity, and a chained critical restricts harder (policy)."""
        account = cdr.account
        endpoint = account.rpartition("/")[2] if "/" in account else ""  # PJSIP/1001 -> the SIP user
        for subject in (account, endpoint, cdr.source, cdr.source_ip):
            finding = self.flagged.get(subject, cdr.end) if subject else None
            if finding is not None:
                for alert in alerts:
                    alert.chained = True
                    if alert.severity in ("medium", "high"):
                        alert.severity = raise_severity(alert.severity)
                    alert.reason += f"; after shield finding on {subject}: {finding}"
                return

    def _alert(
        self,
        alerts: list[Alert],
        cdr: Cdr,
        detector: str,
        severity: str,
        reason: str,
        estimated_cost: float,
        destination: str = "",
    ) -> None:
        key = (cdr.account, detector)
        previous = self.alerted.get(key, cdr.end)
        if previous is not None and estimated_cost < 2 * previous:
            return  # one alert per (account, detector) per alert_repeat_s unless the cost doubled
        self.alerted.set(key, max(estimated_cost, 0.01), cdr.end)
        evidence = cdr.call_id or cdr.where
        calls = [evidence] if evidence else []
        alerts.append(
            Alert(
                time=cdr.end,
                account=cdr.account,
                detector=detector,
                severity=severity,
                reason=reason,
                estimated_cost=estimated_cost,
                destination=destination,
                calls=calls,
            )
        )
