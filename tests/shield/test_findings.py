from __future__ import annotations

from phonewarden.shield.findings import Finding, Reporter, describe, source_key
from tests.shield.records import request, response


def test_source_keys() -> None:
    assert source_key("198.51.100.7") == "198.51.100.7"
    assert source_key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert source_key("::ffff:198.51.100.7") == "198.51.100.7"
    assert source_key("not-an-ip") == "not-an-ip"


def test_reporter_reports_once_per_window_with_its_samples() -> None:
    reporter = Reporter("x", 10, 100, 2)
    for n in range(5):
        reporter.sample("k", f"s{n}")
    first = reporter.report("k", 0.0, "why", "high", count=5)
    assert first is not None and first.evidence == {"count": 5, "samples": ["s0", "s1"]}
    assert reporter.report("k", 5.0, "why", "high") is None
    assert reporter.report("k", 10.0, "why", "high") is not None


def test_finding_json_follows_the_records_contract() -> None:
    record = Finding("scanner", "198.51.100.7", 1_700_000_000.5, "why", "high", {"a": 1}).to_json()
    assert record["type"] == "finding" and record["time"] == "2023-11-14T22:13:20.500000Z"
    assert set(record) == {"type", "time", "detector", "source", "reason", "severity", "evidence"}


def test_describe_is_short_and_names_the_user_agent() -> None:
    assert describe(request("198.51.100.7", 0.0).body).startswith("REGISTER sip:pbx.example.test ua=Yealink")
    assert describe(response("198.51.100.7", 0.0, 404).body) == "404 Not Found (REGISTER)"
