"""Rows the console and API show of the fraud guard: accounts (store + running service) and open alerts.

Open alerts (the overview's "open fraud alerts" tile and /fraud/alerts): the high alerts the running
service in this process holds for a person (with their deadline), plus the stored open alerts
(history.py: high or critical, in the last 24 h, no acknowledgement or lift of the account since);
an alert that is in both is counted once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from phonewarden.core.records import iso_time
from phonewarden.fraud import history
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


def account_rows(service: FraudService, db: Engine, now: float) -> list[dict[str, Any]]:
    """Accounts with calls in the last ACCOUNT_DAYS days, worst first (level, then cost): account,
    calls, cost, level, warm, last_call (epoch). The level is the stronger of memory and store."""
    service.flush_usage()
    since = history.utc(now) - timedelta(days=ACCOUNT_DAYS)
    with Session(db) as session:
        totals = history.account_totals(session, since)
    stored_levels = history.active_levels(db, now)
    live = {row["account"]: row for row in service.accounts()}
    warmup = service.settings.warmup_days * 86400
    rows = []
    for total in totals:
        memory = live.get(total.account)
        level = max(stored_levels.get(total.account, 0), memory["level"] if memory else 0)
        warm = memory["warm"] if memory else now - total.first_hour >= warmup
        rows.append(
            {
                "account": total.account,
                "calls": total.calls,
                "cost": round(total.cost, 2),
                "minutes": round(total.minutes, 1),
                "level": level,
                "warm": bool(warm),
                "last_call": total.last_call,
            }
        )
    return sorted(rows, key=lambda row: (-row["level"], -row["cost"], row["account"]))
