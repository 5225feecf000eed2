"""Live calls from SIP records (pcap, HEP): INVITE -> 200 OK -> BYE, before any CDR exists.

A CDR appears only at hang-up, so ten parallel 40-minute calls are invisible to CDR-only tools for 40
minutes. Here an answered call counts at once: concurrency per account against its learned peak for the
hour of week, cost accruing on open calls against the fixed windows, and long calls to risky numbers.

With `book_estimates` on (serve), at hang-up the call's estimated cost and minutes are booked into the
detector like a CDR, so a site that feeds only SIP/HEP still gets the spend, baseline and destination
detectors; the alerts that raises wait in `take_booked`. When the call's real CDR arrives, `reconcile`
takes the estimate back out first, so the CDR replaces it instead of counting twice. Off by default:
whoever turns it on must call `reconcile` before each CDR and decide `take_booked()`'s alerts.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from phonewarden.core.windows import TtlMap
from phonewarden.fraud.cdr import Cdr
from phonewarden.fraud.detect import RISKY, FraudDetector, money
from phonewarden.fraud.rating import Rating
from phonewarden.fraud.records import Alert
from phonewarden.fraud.state import HOURS_PER_WEEK

SETUP_TIMEOUT = 180.0  # an INVITE not answered within this is forgotten
MAX_CALL = 12 * 3600.0
ESTIMATE_KEPT = 6 * 3600.0  # a CDR later than this after the BYE no longer replaces the estimate
MAX_ESTIMATES = 200_000
MATCH_SLACK = 30.0  # a CDR without the SIP Call-ID matches an estimate of its account, number and end


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


@dataclass(slots=True)
class Estimate:
    """What a hang-up booked into the detector, to be taken back when the call's CDR arrives."""

    call_id: str
    account: str
    destination: str
    end: float
    cost: float
    minutes: float
    risky: float
    seconds: float


class LiveCalls:
    def __init__(self, detector: FraudDetector) -> None:
        self.detector = detector
        self.settings = detector.settings
        self.setup: TtlMap[str, LiveCall] = TtlMap(SETUP_TIMEOUT, 100_000)
        self.calls: TtlMap[str, LiveCall] = TtlMap(MAX_CALL, 100_000)
        self.by_account: dict[str, set[str]] = {}
        self.estimates: OrderedDict[str, Estimate] = OrderedDict()  # by Call-ID, oldest first
        self.by_number: dict[tuple[str, str], list[str]] = {}  # (account, destination) -> Call-IDs
        self.book_estimates = False
        self._booked_alerts: list[Alert] = []

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
        """Close the call; with `book_estimates` an answered one is booked as an estimated CDR."""
        self.setup.pop(call_id, now)
        call = self.calls.pop(call_id, now)
        if call is None:
            return
        open_calls = self.by_account.get(call.account)
        if open_calls is not None:
            open_calls.discard(call_id)
            if not open_calls:
                del self.by_account[call.account]
        if self.book_estimates and call.answered is not None and call_id not in self.estimates:
            self._booked_alerts += self._book(call, now)

    def take_booked(self) -> list[Alert]:
        """The alerts raised by booking hung-up calls since the last call (for the policy to decide)."""
        alerts, self._booked_alerts = self._booked_alerts, []
        return alerts

    def _book(self, call: LiveCall, now: float) -> list[Alert]:
        billsec = max(0.0, now - (call.answered or now))
        cdr = Cdr(
            account=call.account,
            destination=call.destination,
            start=call.start,
            end=now,
            billsec=billsec,
            call_id=call.call_id,
            source_ip=call.source_ip,
            origin="live",
        )
        cost = call.rating.rate * billsec / 60.0  # what FraudDetector.process books for it
        self._forget_old(now)
        self.estimates[call.call_id] = Estimate(
            call.call_id,
            call.account,
            call.destination,
            now,
            cost,
            billsec / 60.0,
            cost if call.rating.risk in RISKY else 0.0,
            billsec,
        )
        self.by_number.setdefault((call.account, call.destination), []).append(call.call_id)
        return self.detector.process(cdr)

    def _forget_old(self, now: float) -> None:
        while self.estimates:
            oldest = next(iter(self.estimates.values()))
            if now - oldest.end < ESTIMATE_KEPT and len(self.estimates) < MAX_ESTIMATES:
                break
            self._drop(oldest)

    def _drop(self, estimate: Estimate) -> None:
        self.estimates.pop(estimate.call_id, None)
        key = (estimate.account, estimate.destination)
        ids = self.by_number.get(key)
        if ids is not None:
            if estimate.call_id in ids:
                ids.remove(estimate.call_id)
            if not ids:
                del self.by_number[key]

    def reconcile(self, cdr: Cdr) -> Estimate | None:
        """Before a CDR is processed: take its call's live estimate back out of the detector.

        The CDR is matched by Call-ID (Kamailio acc, FreeSWITCH `sip_call_id`), else by account,
        destination and an end within MATCH_SLACK seconds of the BYE (Asterisk's uniqueid is no
        SIP Call-ID). Returns the estimate taken out, if any."""
        estimate = self.estimates.get(cdr.call_id) if cdr.call_id else None
        if estimate is None:
            best = MATCH_SLACK
            for call_id in self.by_number.get((cdr.account, cdr.destination), ()):
                candidate = self.estimates[call_id]
                if abs(candidate.end - cdr.end) <= best:
                    estimate, best = candidate, abs(candidate.end - cdr.end)
        if estimate is None:
            return None
        self._drop(estimate)
        unbook(self.detector, estimate, cdr.end)
        return estimate

    def open_calls(self, account: str, now: float) -> list[LiveCall]:
        ids = sorted(self.by_account.get(account, ()))  # sorted: the call an alert names must not vary by run
        return [call for call in (self.calls.get(i, now) for i in ids) if call is not None]

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
            # each open call counts only its part inside a window, as a finished call does
            open_calls = [(c.answered or now, c.rating.rate) for c in calls]
            state = self.detector.state(account, now)
            broken = self.detector.over_limit(state, now, running=open_calls) if calls else None
            if broken is not None:
                limit, sums = broken
                total = sums.cost + sum(rate * min(now - t, limit.seconds) / 60 for t, rate in open_calls)
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


def unbook(detector: FraudDetector, estimate: Estimate, now: float) -> None:
    """Undo what `FraudDetector.process` added for an estimated call: window, hour, totals and
    the per-number call count (the new-country, Wangiri and range tables count distinct values, so
    the real CDR adds nothing twice there)."""
    state = detector.accounts.get(estimate.account, now)
    detector.cdrs -= 1
    detector.total_cost -= estimate.cost
    if state is None:
        return
    state.window.take(estimate.end, estimate.cost, estimate.minutes, estimate.risky, estimate.seconds)
    hour = int(estimate.end // 3600)
    if hour == state.hour:
        state.hour_cost = max(0.0, state.hour_cost - estimate.cost)
        state.hour_minutes = max(0.0, state.hour_minutes - estimate.minutes)
    elif 0 < state.hour - hour < len(state.cost_history):  # that hour is already in the history
        index = hour % len(state.cost_history)
        state.cost_history[index] = max(0.0, state.cost_history[index] - estimate.cost)
        state.minute_history[index] = max(0.0, state.minute_history[index] - estimate.minutes)
    state.calls = max(0, state.calls - 1)
    state.total_cost -= estimate.cost
    epoch = int(estimate.end // detector.settings.sequential_window_s)
    counts = (
        state.dialled
        if epoch == state.dialled_epoch
        else state.dialled_before
        if epoch == state.dialled_epoch - 1
        else {}
    )
    number = detector.rater.rate(estimate.destination).e164
    if counts.get(number, 0) > 1:
        counts[number] -= 1
    elif number in counts:
        del counts[number]
