"""Output records of the fraud guard: `alert`, `restriction`, `summary` (docs/records.md contract)."""

from __future__ import annotations

from typing import Any

import msgspec

from phonewarden.core.records import iso_time

SEVERITIES = ("info", "low", "medium", "high", "critical")


def raise_severity(severity: str, steps: int = 1) -> str:
    return SEVERITIES[min(len(SEVERITIES) - 1, SEVERITIES.index(severity) + steps)]


class Alert(msgspec.Struct, kw_only=True):
    time: float
    account: str
    detector: str
    severity: str
    reason: str
    estimated_cost: float = 0.0
    destination: str = ""
    calls: list[str] = msgspec.field(default_factory=list)  # origins or Call-IDs as evidence
    chained: bool = False  # follows a shield finding on the account, user or address (attack chain)
    type: str = "alert"

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "type": "alert", "time": iso_time(self.time), "account": self.account,
            "detector": self.detector, "severity": self.severity, "reason": self.reason,
            "estimated_cost": round(self.estimated_cost, 4),
        }  # fmt: skip
        if self.destination:
            record["destination"] = self.destination
        if self.calls:
            record["calls"] = self.calls
        if self.chained:
            record["chained"] = True
        return record


class Restriction(msgspec.Struct, kw_only=True):
    """Level 1 international blocked, 2 only national, 3 all outbound blocked; or a destination block."""

    time: float
    account: str  # "*" for a destination block
    level: int
    until: float
    reason: str
    actor: str = "phonewarden"
    destination: str = ""  # E.164 digits for a destination block
    type: str = "restriction"

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "type": "restriction", "time": iso_time(self.time), "account": self.account,
            "level": self.level, "until": iso_time(self.until), "reason": self.reason, "actor": self.actor,
        }  # fmt: skip
        if self.destination:
            record["destination"] = self.destination
        return record


class Summary(msgspec.Struct, kw_only=True):
    time: float
    cdrs: int
    bad_rows: int
    accounts: int
    alerts: dict[str, int]
    restrictions: int
    estimated_cost: float
    seconds: float
    type: str = "summary"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "summary", "time": iso_time(self.time), "cdrs": self.cdrs, "bad_rows": self.bad_rows,
            "accounts": self.accounts, "alerts": self.alerts, "restrictions": self.restrictions,
            "estimated_cost": round(self.estimated_cost, 2), "seconds": round(self.seconds, 3),
        }  # fmt: skip
