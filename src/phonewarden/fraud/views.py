"""Rows the console and API show of the fraud guard: accounts (store + running service) and open alerts.

Open alerts (the overview's "open fraud alerts" tile and /fraud/alerts): the high alerts the running
service in this process holds for a person (with their deadline), plus the stored open alerts
(history.py: high or critical, in the last 24 h, no acknowledgement or lift of the account since);
an alert that is in both is counted once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from phonewarden.core.records import iso_time
from phonewarden.fraud import history
from phonewarden.fraud.models import FraudUsage
from phonewarden.fraud.service import FraudService

ACCOUNT_DAYS = 7
MAX_OPEN = 500


def open_alert_rows(service: FraudService | None, db: Engine, now: datetime) -> list[dict[str, Any]]:
    """Open alerts newest first: account, detector, severity, reason, estimated_cost, time, deadline."""
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str, float]] = set()
    for deadline, alert in service.open_alerts() if service is not None else []:
        seen.add((alert.account, alert.detector, round(alert.time, 3)))
        rows.append({**alert.to_json(), "deadline": iso_time(deadline), "epoch": alert.time})
    with Session(db) as session:
        stored = history.open_alerts(session, now, MAX_OPEN)
    for finding in stored:
        epoch = finding.time.timestamp()
        if (finding.subject, finding.kind, round(epoch, 3)) in seen:
            continue
        evidence = finding.evidence if isinstance(finding.evidence, dict) else {}
        rows.append(
            {
                "account": finding.subject,
                "detector": finding.kind,
                "severity": str(finding.severity),
                "reason": finding.reason,
                "estimated_cost": evidence.get("estimated_cost", ""),
                "time": iso_time(epoch),
                "deadline": "",
                "epoch": epoch,
            }
        )
    return sorted(rows, key=lambda row: row["epoch"], reverse=True)


AccountKey = tuple[int, float, str]  # (-level, -cost, account): worst first, and a page's cursor


def account_rows(
    service: FraudService, db: Engine, now: float, after: AccountKey | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Accounts with calls in the last ACCOUNT_DAYS days, worst first (level, then cost): account,
    calls, cost, level, warm, last_call (epoch). The level is the stronger of memory and store.

    With `after` and `limit`, one page: only the sort (level, cost) is read for every account; calls,
    minutes, last call and warmth are read for the accounts shown.
    """
    service.flush_usage()
    since = history.utc(now) - timedelta(days=ACCOUNT_DAYS)
    costs = select(FraudUsage.account, func.sum(FraudUsage.cost)).where(FraudUsage.hour >= since)
    with Session(db) as session:
        cost = {
            account: round(float(total), 2)
            for account, total in session.execute(costs.group_by(FraudUsage.account))
        }
    stored_levels = history.active_levels(db, now)
    live = {row["account"]: row for row in service.accounts()}

    def level_of(account: str) -> int:
        memory = live.get(account)
        return max(stored_levels.get(account, 0), memory["level"] if memory else 0)

    keys = sorted((-level_of(account), -total, account) for account, total in cost.items())
    if after is not None:
        keys = [key for key in keys if key > after]
    keys = keys[:limit]
    details = _details(db, [account for _, _, account in keys], since)
    warmup = service.settings.warmup_days * 86400
    rows = []
    for level, total, account in keys:
        calls, minutes, last_call, first_hour = details[account]
        memory = live.get(account)
        rows.append(
            {
                "account": account,
                "calls": calls,
                "cost": -total,
                "minutes": round(minutes, 1),
                "level": -level,
                "warm": bool(memory["warm"] if memory else now - first_hour >= warmup),
                "last_call": last_call,
            }
        )
    return rows


def account_key(row: dict[str, Any]) -> AccountKey:
    """The sort key of an account row: the next page starts after it."""
    return -int(row["level"]), -float(row["cost"]), str(row["account"])


def _details(db: Engine, accounts: list[str], since: datetime) -> dict[str, tuple[int, float, float, float]]:
    """Per account: calls, minutes and last call (epoch) since `since`, and its first stored hour ever;
    read on the (account, hour) index for the accounts asked only."""
    u = FraudUsage
    found: dict[str, tuple[int, float, float, float]] = {}
    with Session(db) as session:
        for start in range(0, len(accounts), 500):
            chunk = accounts[start : start + 500]
            oldest = select(u.account, func.min(u.hour)).where(u.account.in_(chunk)).group_by(u.account)
            first = {account: hour for account, hour in session.execute(oldest)}
            sums = select(u.account, func.sum(u.calls), func.sum(u.minutes), func.max(u.last_call))
            sums = sums.where(u.account.in_(chunk), u.hour >= since).group_by(u.account)
            for account, calls, minutes, last in session.execute(sums):
                found[account] = (int(calls), float(minutes), last.timestamp(), first[account].timestamp())
    return found
