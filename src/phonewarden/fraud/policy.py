"""The only place that decides: alerts -> restrictions, with acknowledgement deadlines.

critical: restrict at once (level 2; level 3 when the alert follows a shield finding);
high: needs an acknowledgement; unacknowledged after `ack_timeout_minutes` -> level 1;
wangiri: block the destination number for everyone (the callers are victims, not attackers);
info/low/medium: alert only. `report_only` (the first week of a rollout) never restricts.
"""

from __future__ import annotations

from phonewarden.alerts.ack import AckTracker
from phonewarden.fraud.records import Alert, Restriction
from phonewarden.fraud.restrictions import RestrictionBook
from phonewarden.fraud.settings import FraudSettings


class Policy:
    def __init__(self, settings: FraudSettings, book: RestrictionBook) -> None:
        self.settings = settings
        self.book = book
        self.acks = AckTracker(settings.ack_timeout_minutes * 60)  # account -> alert awaiting a person

    def _restriction(self, alert: Alert, level: int, reason: str) -> Restriction:
        hours = self.settings.restrict_hours[level]
        return Restriction(
            time=alert.time,
            account=alert.account,
            level=level,
            until=alert.time + hours * 3600,
            reason=reason,
        )

    def decide(self, alert: Alert) -> list[Restriction]:
        if self.settings.report_only:
            return []
        decided: list[Restriction] = []
        if alert.detector == "wangiri" and alert.destination:
            until = alert.time + self.settings.destination_block_hours * 3600
            block = Restriction(
                time=alert.time,
                account="*",
                level=0,
                until=until,
                reason=f"wangiri: {alert.reason}",
                destination=alert.destination,
            )
            if self.book.apply(block):
                decided.append(block)
            return decided
        if alert.severity == "critical":
            level = 3 if alert.chained else 2
            restriction = self._restriction(alert, level, f"{alert.detector}: {alert.reason}")
            if self.book.apply(restriction):
                decided.append(restriction)
            self.acks.acknowledge(alert.account)
        elif alert.severity == "high" and self.book.level(alert.account, alert.time) == 0:
            self.acks.require(alert.account, {"alert": alert}, alert.time)
        return decided

    @property
    def waiting(self) -> bool:
        """Some high alert awaits a person (so `tick` may have work)."""
        return bool(self.acks.waiting)

    def acknowledge(self, account: str) -> bool:
        """A person looked at the account's alert: no automatic restriction for it."""
        return self.acks.acknowledge(account)

    def tick(self, now: float) -> list[Restriction]:
        """Restrict accounts whose high alert stayed unacknowledged past its deadline."""
        decided: list[Restriction] = []
        for waiting in self.acks.expired(now):
            alert = waiting["alert"]
            deadline = alert.time + self.acks.timeout
            minutes = self.settings.ack_timeout_minutes
            reason = f"unacknowledged for {minutes:.0f} min: {alert.detector}: {alert.reason}"
            restriction = self._restriction(alert, 1, reason)
            restriction.time = deadline
            restriction.until = deadline + self.settings.restrict_hours[1] * 3600
            if self.book.apply(restriction):
                decided.append(restriction)
        return decided
