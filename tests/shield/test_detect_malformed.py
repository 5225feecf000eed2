from __future__ import annotations

from phonewarden.shield.detect_malformed import MalformedDetector
from phonewarden.shield.findings import Reporter
from phonewarden.wire.sip import parse_sip
from tests.shield.records import request


def _detector() -> MalformedDetector:
    return MalformedDetector(Reporter("malformed", 30, 100, 3), 25, 30, 100)


def test_twenty_five_broken_messages_in_thirty_seconds_are_a_finding() -> None:
    detector = _detector()
    broken = parse_sip(b"REGISTER sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\n")  # no Call-ID, no CSeq
    assert "missing-call-id" in broken.anomalies
    results = [detector.observe("198.51.100.3", broken, n * 0.5, False) for n in range(25)]
    assert results[:24] == [None] * 24 and results[24] is not None
    assert "missing-call-id" in results[24].evidence["samples"][0]


def test_well_formed_and_cosmetically_odd_messages_do_not_count() -> None:
    detector = _detector()
    lf_only = parse_sip(request("198.51.100.3", 0.0).body.raw.replace(b"\r\n", b"\n"))
    assert "lf-only" in lf_only.anomalies
    for n in range(100):
        assert detector.observe("198.51.100.3", lf_only, n * 0.1, False) is None
        assert detector.observe("198.51.100.3", request("198.51.100.3", 0.0).body, n * 0.1, True) is None
