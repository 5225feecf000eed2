from __future__ import annotations

import re
from pathlib import Path

import pytest

from phonewarden.shield.detect_scanner import (
    FINGERPRINTS,
    FingerprintError,
    ScannerDetector,
    load_fingerprints,
)
from phonewarden.shield.findings import Reporter
from phonewarden.wire.sip import parse_sip
from tests.shield.records import capture, request


def _detector() -> ScannerDetector:
    return ScannerDetector(Reporter("scanner", 3600, 1000, 3))


def test_every_shipped_fingerprint_names_its_source_and_date() -> None:
    prints = load_fingerprints()
    assert len({p.id for p in prints}) == len(prints)
    for fingerprint in prints:
        assert len(fingerprint.source) > 10, fingerprint.id
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", fingerprint.date), fingerprint.id
    assert "date" in FINGERPRINTS.read_text()


def test_every_sipvicious_request_in_the_real_capture_scores_as_a_scanner() -> None:
    detector = _detector()
    requests = [r.body for r in capture("sip-scan-sipvicious.pcapng") if r.body.is_request]
    assert requests
    for message in requests:
        assert sum(p.weight for p in detector.matches(message)) >= 1.0, message.raw[:200]


def test_structure_alone_catches_sipvicious_with_a_patched_user_agent() -> None:
    detector = _detector()
    for record in capture("sip-scan-sipvicious.pcapng"):
        if not record.body.is_request:
            continue
        patched = parse_sip(record.body.raw.replace(b"friendly-scanner", b"Yealink SIP-T46S 66.86.0.15"))
        hits = detector.matches(patched)
        assert not any(hit.field == "user_agent" for hit in hits)
        assert sum(hit.weight for hit in hits) >= 1.0, patched.raw[:300]


def test_benign_phones_in_the_real_capture_do_not_match() -> None:
    detector = _detector()
    for record in capture("sip-udp.pcapng") + capture("hep-kamailio.pcapng"):
        if record.body.is_request:
            assert detector.matches(record.body) == [], record.body.raw[:200]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"ua": "pplsip"}, "ua-pplsip"),
        ({"ua": "VaxSIPUserAgent/3.1"}, "ua-vaxsip"),
        ({"branch": "a" * 71}, "branch-no-cookie-sippts"),
        ({"body": "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=portsip.com\r\n"}, "sdp-portsip"),
    ],
)
def test_other_tools_are_recognised(change: dict[str, str], expected: str) -> None:
    record = request("198.51.100.9", 1.0, "OPTIONS", **change)  # type: ignore[arg-type]
    finding = _detector().observe("198.51.100.9", record.body, 1.0)
    assert finding is not None and expected in finding.evidence["fingerprints"]


def test_sipsak_alone_is_monitoring_not_a_scanner() -> None:
    record = request("198.51.100.9", 1.0, "OPTIONS", ua="sipsak 0.9.8.1")
    assert _detector().observe("198.51.100.9", record.body, 1.0) is None


def test_one_finding_per_source_per_window() -> None:
    detector = _detector()
    first = request("198.51.100.9", 1.0, "OPTIONS", ua="friendly-scanner")
    assert detector.observe("198.51.100.9", first.body, 1.0) is not None
    assert detector.observe("198.51.100.9", first.body, 2.0) is None
    assert detector.observe("198.51.100.9", first.body, 3602.0) is not None


def test_a_broken_fingerprint_file_names_entry_and_problem(tmp_path: Path) -> None:
    path = tmp_path / "f.toml"
    path.write_text('[[fingerprint]]\nid = "x"\ntool = "t"\nfield = "user_agent"\nmatch = "regex"\n'
                    'pattern = "("\nweight = 1.0\nsource = "s"\ndate = "2026-01-01"\n')  # fmt: skip
    with pytest.raises(FingerprintError, match=r"fingerprint #1 \(x\): bad regex"):
        load_fingerprints(path)
    path.write_text('[[fingerprint]]\nid = "y"\n')
    with pytest.raises(FingerprintError, match=r"\(y\): missing"):
        load_fingerprints(path)


def test_benign_traffic_skips_the_field_checks_but_every_scanner_message_gets_them() -> None:
    detector = _detector()
    phones = [request("198.51.100.20", 1.0, user=str(n), branch=f"z9hG4bK{n:08x}").body for n in range(50)]
    assert not any(detector.worth_examining(message.raw) for message in phones)
    # sipp's branches (z9hG4bK-<pid>-<n>-<m>) share SIPVicious' hyphen: examined, and still not a scanner
    sipp = [r.body for r in capture("sip-udp.pcapng") if r.body.is_request]
    assert all(detector.worth_examining(message.raw) for message in sipp)
    assert not any(detector.observe("127.0.0.1", message, 1.0) for message in sipp)
    for record in capture("sip-scan-sipvicious.pcapng"):
        if record.body.is_request:
            patched = record.body.raw.replace(b"friendly-scanner", b"Yealink SIP-T46S")
            assert detector.worth_examining(patched)
    sippts = request("198.51.100.9", 1.0, "OPTIONS", branch="b" * 71).body
    assert detector.worth_examining(sippts.raw)


def test_fingerprints_that_could_pass_the_prefilter_unexamined_are_refused(tmp_path: Path) -> None:
    entry = (
        '[[fingerprint]]\nid = "{id}"\ntool = "t"\nfield = "call_id"\nmatch = "regex"\npattern = "x"\n'
        'weight = 0.6\nsource = "s"\ndate = "2026-01-01"\n'
    )
    path = tmp_path / "f.toml"
    path.write_text(entry.format(id="a") + entry.format(id="b"))
    with pytest.raises(FingerprintError, match=r"without prefilter \['a', 'b'\]"):
        load_fingerprints(path)


def _variants(raw: bytes) -> list[bytes]:
    """A request as sent, and the shapes in which its raw text and its field values differ."""
    return [
        raw,
        raw.replace(b"friendly-scanner", b"Yealink SIP-T46S"),  # structure only
        raw.replace(b"User-Agent: ", b"User-Agent: friendly-\r\n scanner "),  # folded: unfolding joins lines
        raw.replace(b"User-Agent: ", b"User-Agent: \xc3\xa9 "),  # not ASCII
        raw.replace(b"From: ", b'From: "sip\\vicious" '),  # an escape the parser resolves
    ]


def test_the_bounded_check_never_rules_out_what_full_scoring_reports() -> None:
    detector = _detector()
    raws = [r.body.raw for r in capture("sip-scan-sipvicious.pcapng") + capture("sip-udp.pcapng")]
    ruled_out = scanners = 0
    for raw in (variant for sent in raws for variant in _variants(sent)):
        message = parse_sip(raw)
        if not message.is_request:
            continue
        text = raw.decode("latin-1").lower()
        full = sum(p.weight for p in detector.matches(parse_sip(raw))) >= 1.0
        bounded = detector.may_reach_one(message, text)
        assert bounded or not full, raw[:300]
        ruled_out += not bounded
        scanners += full
    assert ruled_out and scanners  # both sides were exercised


def test_an_escaped_display_name_is_still_examined_though_its_literal_is_not_in_the_raw_text() -> None:
    record = request("198.51.100.9", 1.0, "OPTIONS", display="sip\\vicious", user="100")
    raw = record.body.raw.replace(b"@pbx.example.test>;tag", b"@1.1.1.1>;tag", 1)
    assert b"sipvicious" not in raw.lower()  # only "1.1.1.1" (from-host, 0.5) passes the prefilter
    finding = _detector().observe("198.51.100.9", parse_sip(raw), 1.0)
    assert finding is not None and "display-sipvicious" in finding.evidence["fingerprints"]


def test_sipp_is_ruled_out_after_reading_its_via_alone() -> None:
    detector = _detector()
    sipp = [r.body.raw for r in capture("sip-udp.pcapng") if r.body.is_request and r.body.user_agent]
    assert sipp
    for raw in sipp:
        message = parse_sip(raw)  # fresh: nothing read yet
        assert detector.observe("127.0.0.1", message, 1.0) is None
        assert message._from is None, message.raw[:200]  # From was never parsed: the check stopped early


def test_a_detector_without_fingerprints_finds_nothing_and_never_fails() -> None:
    detector = ScannerDetector(Reporter("scanner", 3600, 1000, 3), fingerprints=[])
    for record in capture("sip-scan-sipvicious.pcapng"):
        if record.body.is_request:
            assert detector.observe(record.segment.src, record.body, record.time) is None
