"""Live calls from SIP records (pcap, HEP): INVITE -> 200 OK -> BYE, before any CDR exists.

A CDR appears only at hang-up, so ten parallel 40-minute calls are invisible to CDR-only tools for 40
minutes. Here an answered call counts at once: concurrency per account against its learned peak for the
hour of week, cost accruing on open calls against the fixed windows, and long calls to risky numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from phonewarden.core.windows import TtlMap
from phonewarden.fraud.cdr import Cdr
from phonewarden.fraud.detect import FraudDetector, money
from phonewarden.fraud.rating import Rating
from phonewarden.fraud.records import Alert
from phonewarden.fraud.state import HOURS_PER_WEEK

SETUP_TIMEOUT = 180.0  # an INVITE not answered within this is forgotten
MAX_CALL = 12 * 3600.0


@dataclass(slots=True)
class LiveCall:
    call_id: str
    account: str
    destination: str
    rating: Rating
    start: float
    answered: float | None = None
    source_ip: str = ""
    flagged_long: bool = False


class LiveCalls:
    def __init__(self, detector: FraudDetector) -> None:
        self.detector = detector
        self.settings = detector.settings
        self.setup: TtlMap[str, LiveCall] = TtlMap(SETUP_TIMEOUT, 100_000)
        self.calls: TtlMap[str, LiveCall] = TtlMap(MAX_CALL, 100_000)
        self.by_account: dict[str, set[str]] = {}

    def invite(self, call_id: str, account: str, destination: str, now: float, source_ip: str = "") -> None:
        if self.calls.contains(call_id, now) or self.setup.contains(call_id, now):
            return  # a re-INVITE or retransmission, not a new call
        rating = self.detector.rater.rate(destination)
        self.setup.set(call_id, LiveCall(call_id, account, destination, rating, now, None, source_ip), now)

    def answer(self, call_id: str, now: float) -> list[Alert]:
        call = self.setup.pop(call_id, now)
        if call is None:
            return []
        call.answered = now
        self.calls.set(call_id, call, now)
        self.by_account.setdefault(call.account, set()).add(call_id)
        return self._concurrency(call, now)

    def hangup(self, call_id: str, now: float) -> None:
        self.setup.pop(call_id, now)
        call = self.calls.pop(call_id, now)
        if call is not None:
            open_calls = self.by_account.get(call.account)
            if open_calls is not None:
                open_calls.discard(call_id)
                if not open_calls:
                    del self.by_account[call.account]

    def open_calls(self, account: str, now: float) -> list[LiveCall]:
        ids = self.by_account.get(account, set())
        return [call for call in (self.calls.get(i, now) for i in list(ids)) if call is not None]

    def _concurrency(self, call: LiveCall, now: float) -> list[Alert]:
        state = self.detector.state(call.account, now)
        count = len(self.open_calls(call.account, now))
        hour = int(now // 3600)
        if hour != state.live_hour:
            # Learn an hour's peak only once it is over and only if it raised no alert: a ramp-up of
            # parallel fraud calls must not teach the baseline that it is normal.
            if state.live_hour >= 0 and not state.live_alerted:
                past = state.live_hour % HOURS_PER_WEEK
                state.peak_concurrency[past] = max(state.peak_concurrency[past], min(255, state.live_max))
            state.live_hour, state.live_max, state.live_alerted = hour, 0, False
        state.live_max = max(state.live_max, count)
        slot = hour % HOURS_PER_WEEK
        peak = max(state.peak_concurrency[(slot + o) % HOURS_PER_WEEK] for o in (-1, 0, 1))
        allowed = max(self.settings.concurrency_min, int(peak * self.settings.concurrency_peak_factor))
        alerts: list[Alert] = []
        if count > self.settings.concurrency_cap or (count > allowed and self.detector.warm(state, now)):
            risky = sum(1 for c in self.open_calls(call.account, now) if c.rating.risk in ("medium", "high"))
            # Busy but to usual destinations (a campaign) is worth a look, not a block.
            risky_majority = risky >= 2 and risky * 2 >= count
            severity = "critical" if count > self.settings.concurrency_cap or risky_majority else "medium"
            self._alert(
                alerts,
                call,
                now,
                "concurrency",
                severity,
                f"{count} answered calls at once ({risky} to risky destinations); normal peak for "
                f"this hour of week {peak}, allowed {allowed}, cap {self.settings.concurrency_cap}",
            )
            state.live_alerted = True
        return alerts

    def tick(self, now: float) -> list[Alert]:
        """Accrued cost of open calls vs the fixed windows, and long calls to risky numbers."""
        alerts: list[Alert] = []
        for account in list(self.by_account):
            calls = self.open_calls(account, now)
            accrued = sum(c.rating.rate * (now - (c.answered or now)) / 60 for c in calls)
            state = self.detector.state(account, now)
            broken = self.detector.over_limit(state, now, accrued) if calls else None
            if broken is not None:
                limit, sums = broken
                total = sums.cost + accrued
                self._alert(
                    alerts,
                    calls[0],
                    now,
                    "live-spend",
                    "critical",
                    f"{money(total, self.detector.currency)} in {limit.seconds // 60} min including "
                    f"{len(calls)} calls still running "
                    f"(limit {money(limit.max_cost, self.detector.currency)})",
                    total,
                )
            for call in calls:
                running = now - (call.answered or now)
                risky = call.rating.risk == "high" or call.rating.rate > self.settings.max_rate_without_review
                if risky and running > self.settings.live_risky_call_max_s and not call.flagged_long:
                    call.flagged_long = True
                    self._alert(
                        alerts,
                        call,
                        now,
                        "long-risky-call",
                        "high",
                        f"call to +{call.rating.e164} ({call.rating.label}) "
                        f"running {running / 60:.0f} min "
                        f"at {money(call.rating.rate, self.detector.currency)}/min",
                        call.rating.rate * running / 60,
                    )
        return alerts

    def _alert(
        self,
        alerts: list[Alert],
        call: LiveCall,
        now: float,
        detector: str,
        severity: str,
        reason: str,
        cost: float = 0.0,
    ) -> None:
        cdr = Cdr(
            account=call.account,
            destination=call.destination,
            start=call.start,
            end=now,
            billsec=0,
            call_id=call.call_id,
            source_ip=call.source_ip,
        )
        before = len(alerts)
        self.detector._alert(alerts, cdr, detector, severity, reason, cost, call.rating.e164)
        if len(alerts) > before:
            self.detector._chain(cdr, alerts[before:])
