from __future__ import annotations

from phonewarden.fraud.records import Alert, Restriction, Summary, raise_severity


def test_records_follow_the_json_contract() -> None:
    alert = Alert(time=0.5, account="a", detector="d", severity="high", reason="r", estimated_cost=1.23456)
    assert alert.to_json() == {
        "type": "alert",
        "time": "1970-01-01T00:00:00.500000Z",
        "account": "a",
        "detector": "d",
        "severity": "high",
        "reason": "r",
        "estimated_cost": 1.2346,
    }
    restriction = Restriction(time=0, account="*", level=0, until=60, reason="w", destination="1876")
    assert restriction.to_json()["until"] == "1970-01-01T00:01:00.000000Z"
    assert restriction.to_json()["destination"] == "1876"
    summary = Summary(
        time=0, cdrs=1, bad_rows=0, accounts=1, alerts={}, restrictions=0, estimated_cost=0.004, seconds=0.1
    )
    assert summary.to_json()["type"] == "summary" and summary.to_json()["estimated_cost"] == 0.0


def test_raise_severity_stops_at_critical() -> None:
    assert raise_severity("medium") == "high" and raise_severity("critical", 3) == "critical"
