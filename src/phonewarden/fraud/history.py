"""What the fraud guard keeps in the store beyond restrictions: alerts as findings, calls and cost per
account and hour, and the reads the console, API and CLI make of them.

Alerts are findings (guard fraud, kind = detector, subject = account, evidence = the alert's record plus
the account's last calls). An alert is *open* while it is high or critical, at most OPEN_HOURS old, and
no acknowledgement or lift of its account (fraud_audit) came at or after it: what the overview's
"open fraud alerts" tile counts and /fraud/alerts lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, exists, func, select
from sqlalchemy.orm import Session

from phonewarden.fraud.models import FraudAudit, FraudRestriction, FraudUsage
from phonewarden.fraud.records import Alert, Restriction
from phonewarden.store.findings import add_finding
from phonewarden.store.models import Finding, Guard, Severity

OPEN_HOURS = 24
OPEN_SEVERITIES = (Severity.HIGH, Severity.CRITICAL)
CLOSING_ACTIONS = ("ack", "lift")


def utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def hour_start(epoch: float) -> float:
    return epoch // 3600 * 3600


@dataclass(slots=True)
class HourUsage:
    """Calls, cost and minutes summed in memory for one (account, hour) until the next flush."""

    calls: int = 0
    cost: float = 0.0
    minutes: float = 0.0
    last_call: float = 0.0

    def add(self, end: float, cost: float, minutes: float) -> None:
        self.calls += 1
        self.cost += cost
        self.minutes += minutes
        self.last_call = max(self.last_call, end)


def write_outputs(session: Session, alerts: Iterable[tuple[Alert, list[dict[str, Any]]]],
                  restrictions: Iterable[Restriction]) -> list[FraudRestriction]:  # fmt: skip
    """Alerts (with their recent calls) as findings, restrictions with their audit rows; one transaction."""
    for alert, recent in alerts:
        evidence = {**alert.to_json(), "recent_calls": recent}
        add_finding(
            session, time=utc(alert.time), guard=Guard.FRAUD, kind=alert.detector, subject=alert.account,
            severity=Severity(alert.severity), reason=alert.reason, evidence=evidence,
        )  # fmt: skip
    rows = []
    for r in restrictions:
        row = FraudRestriction(
            account=r.account, destination=r.destination, level=r.level, time=utc(r.time),
            until=utc(r.until), reason=r.reason, actor=r.actor,
        )  # fmt: skip
        session.add(row)
        rows.append(row)
        action = "block-destination" if r.destination else "restrict"
        session.add(
            FraudAudit(
                time=utc(r.time),
                action=action,
                account=r.account,
                level=r.level,
                actor=r.actor,
                reason=r.reason,
                until=utc(r.until),
            )
        )
    session.flush()  # assigns the restrictions' ids: the service skips its own rows when it syncs
    return rows


def add_usage(session: Session, usage: dict[tuple[str, float], HourUsage]) -> None:
    """Add the summed hours to the stored ones (one row per account and hour)."""
    for (account, hour), sums in usage.items():
        row = session.scalar(
            select(FraudUsage).where(FraudUsage.account == account, FraudUsage.hour == utc(hour))
        )
        if row is None:
            session.add(
                FraudUsage(
                    account=account,
                    hour=utc(hour),
                    calls=sums.calls,
                    cost=sums.cost,
                    minutes=sums.minutes,
                    last_call=utc(sums.last_call),
                )
            )
            continue
        row.calls += sums.calls
        row.cost += sums.cost
        row.minutes += sums.minutes
        row.last_call = max(row.last_call, utc(sums.last_call))


def _open_condition(now: datetime) -> Any:
    closed = exists().where(
        FraudAudit.account == Finding.subject,
        FraudAudit.action.in_(CLOSING_ACTIONS),
        FraudAudit.time >= Finding.time,
    )
    return and_(
        Finding.guard == Guard.FRAUD,
        Finding.severity.in_(OPEN_SEVERITIES),
        Finding.time >= now - timedelta(hours=OPEN_HOURS),
        ~closed,
    )


def count_open_alerts(session: Session, now: datetime) -> int:
    return int(session.scalar(select(func.count(Finding.id)).where(_open_condition(now))) or 0)


def open_alerts(
    session: Session, now: datetime, limit: int = 500, account: str | None = None
) -> list[Finding]:
    """Open alerts, newest first (see the module's docstring), of every account or of one."""
    query = select(Finding).where(_open_condition(now)).order_by(Finding.time.desc(), Finding.id.desc())
    if account is not None:
        query = query.where(Finding.subject == account)
    return list(session.scalars(query.limit(limit)))


def recent_alerts(session: Session, limit: int = 100) -> list[Finding]:
    query = select(Finding).where(Finding.guard == Guard.FRAUD)
    return list(session.scalars(query.order_by(Finding.time.desc(), Finding.id.desc()).limit(limit)))


def account_alerts(session: Session, account: str, limit: int = 200) -> list[Finding]:
    query = select(Finding).where(Finding.guard == Guard.FRAUD, Finding.subject == account)
    return list(session.scalars(query.order_by(Finding.time.desc(), Finding.id.desc()).limit(limit)))


def account_audit(session: Session, account: str, limit: int = 200) -> list[FraudAudit]:
    query = select(FraudAudit).where(FraudAudit.account == account)
    return list(session.scalars(query.order_by(FraudAudit.time.desc(), FraudAudit.id.desc()).limit(limit)))


@dataclass(frozen=True, slots=True)
class AccountTotals:
    account: str
    calls: int
    cost: float
    minutes: float
    last_call: float
    first_hour: float


def account_totals(session: Session, since: datetime) -> list[AccountTotals]:
    """Per account, calls/cost/minutes since `since`, its last call and its first stored hour ever."""
    first = {
        account: hour.timestamp()
        for account, hour in session.execute(
            select(FraudUsage.account, func.min(FraudUsage.hour)).group_by(FraudUsage.account)
        )
    }
    query = (
        select(
            FraudUsage.account,
            func.sum(FraudUsage.calls),
            func.sum(FraudUsage.cost),
            func.sum(FraudUsage.minutes),
            func.max(FraudUsage.last_call),
        )
        .where(FraudUsage.hour >= since)
        .group_by(FraudUsage.account)
    )
    return [
        AccountTotals(account, int(calls), float(cost), float(minutes), last.timestamp(), first[account])
        for account, calls, cost, minutes, last in session.execute(query)
    ]


def hourly_usage(session: Session, account: str, since: datetime) -> dict[float, tuple[int, float]]:
    """{hour start (epoch): (calls, cost)} of one account since `since`."""
    query = select(FraudUsage.hour, FraudUsage.calls, FraudUsage.cost).where(
        FraudUsage.account == account, FraudUsage.hour >= since
    )
    return {hour.timestamp(): (calls, cost) for hour, calls, cost in session.execute(query)}


def active_levels(db: Engine, now: float) -> dict[str, int]:
    """Stored active account restrictions: account -> highest level."""
    query = select(FraudRestriction.account, func.max(FraudRestriction.level)).where(
        FraudRestriction.lifted_at.is_(None),
        FraudRestriction.until > utc(now),
        FraudRestriction.destination == "",
    )
    with Session(db) as session:
        return {
            account: int(level)
            for account, level in session.execute(query.group_by(FraudRestriction.account))
        }
