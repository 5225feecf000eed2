from __future__ import annotations

from phonewarden.audit.results import CheckResult, Status, Summary, risk_score
from phonewarden.store.models import Severity


def _result(status: Status, severity: Severity, target: str = "198.51.100.10") -> CheckResult:
    return CheckResult(
        time=1764000000.5,
        target=target,
        check="web-ui-http",
        status=status,
        severity=severity,
        detail="d",
        remediation="r",
        vendor="yealink",
        evidence={"cves": ["CVE-2018-16221"]},
    )


def test_check_record_leaves_unknown_fields_out() -> None:
    record = _result(Status.FAIL, Severity.HIGH).to_json()
    assert record["type"] == "check" and record["time"] == "2025-11-24T16:00:00.500000Z"
    assert "model" not in record and record["vendor"] == "yealink" and record["cves"] == ["CVE-2018-16221"]
    assert list(record)[:4] == ["type", "time", "target", "vendor"]


def test_summary_counts_and_risk_order() -> None:
    results = (
        _result(Status.FAIL, Severity.CRITICAL),
        _result(Status.FAIL, Severity.LOW, "b"),
        _result(Status.UNKNOWN, Severity.HIGH),
    )
    summary = Summary(1.0, results, ("x.cfg: unreadable",)).to_json()
    assert (summary["targets"], summary["fail"], summary["unknown"], summary["pass"]) == (2, 2, 1, 0)
    assert summary["failing_by_severity"] == {"critical": 1, "low": 1} and summary["errors"] == [
        "x.cfg: unreadable"
    ]
    assert risk_score([results[0]]) > risk_score([results[1], results[2]])
