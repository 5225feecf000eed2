"""Audit output records: one `check` per (target, rule), then one `summary` (see docs/audit.md)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from phonewarden.core.records import iso_time
from phonewarden.store.models import Severity

SEVERITY_ORDER = {s: rank for rank, s in enumerate(("critical", "high", "medium", "low", "info"))}


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CheckResult:
    time: float  # event time: file modification time for configs, observation time for probes
    target: str  # a config file or an address
    check: str
    status: Status
    severity: Severity
    detail: str
    remediation: str
    vendor: str | None = None
    model: str | None = None
    firmware: str | None = None
    site: str | None = None
    # Extra facts for the report and the store (CVE ids, the config line), not part of the record.
    evidence: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def type(self) -> str:
        return "check"

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {"type": "check", "time": iso_time(self.time), "target": self.target}
        for name in ("vendor", "model", "firmware", "site"):
            value = getattr(self, name)
            if value is not None:
                record[name] = value
        record.update(
            check=self.check,
            status=self.status.value,
            severity=self.severity.value,
            detail=self.detail,
            remediation=self.remediation,
        )
        if self.evidence.get("cves"):
            record["cves"] = list(self.evidence["cves"])
        return record


@dataclass(frozen=True)
class Summary:
    time: float
    results: tuple[CheckResult, ...]
    errors: tuple[str, ...] = ()  # inputs that could not be read or probed

    @property
    def type(self) -> str:
        return "summary"

    def to_json(self) -> dict[str, Any]:
        statuses = Counter(r.status.value for r in self.results)
        failing = Counter(r.severity.value for r in self.results if r.status is Status.FAIL)
        return {
            "type": "summary",
            "time": iso_time(self.time),
            "targets": len({r.target for r in self.results}),
            "checks": len(self.results),
            "pass": statuses.get("pass", 0),
            "fail": statuses.get("fail", 0),
            "unknown": statuses.get("unknown", 0),
            "failing_by_severity": {s: failing[s] for s in SEVERITY_ORDER if failing.get(s)},
            "errors": list(self.errors),
        }


def risk_score(results: list[CheckResult] | tuple[CheckResult, ...]) -> int:
    """Ordering key for "worst first": failing checks weighted by severity."""
    weights = {"critical": 1000, "high": 100, "medium": 10, "low": 1, "info": 0}
    return sum(weights[r.severity.value] for r in results if r.status is Status.FAIL)
