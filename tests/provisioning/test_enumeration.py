"""The enumeration detector: denials per source in event time, one finding per window."""

from __future__ import annotations

from phonewarden.provisioning.enumeration import DETECTOR, EnumerationDetector


def test_the_threshold_denial_reports_once_per_window() -> None:
    detector = EnumerationDetector(threshold=5, window_s=60, max_sources=1000)
    found = [detector.observe("192.0.2.7", "unknown-mac", f"00156500000{i}", 100.0 + i) for i in range(12)]
    reports = [f for f in found if f is not None]
    assert [found.index(r) for r in reports] == [4]
    finding = reports[0]
    assert (finding.detector, finding.source, finding.severity) == (DETECTOR, "192.0.2.7", "high")
    assert finding.evidence == {"denials": 5, "last_reason": "unknown-mac", "last_mac": "001565000004"}
    # After the window the same source is reported again when it keeps going.
    later = [detector.observe("192.0.2.7", "unknown-mac", None, 200.0 + i) for i in range(5)]
    assert later[-1] is not None and later[:-1] == [None] * 4


def test_slow_probes_and_other_sources_stay_below_the_threshold() -> None:
    detector = EnumerationDetector(threshold=3, window_s=10, max_sources=1000)
    assert all(detector.observe("192.0.2.8", "window-closed", None, t * 11.0) is None for t in range(10))
    assert all(detector.observe(f"192.0.2.{n}", "unknown-mac", None, 1.0) is None for n in range(20, 40))


def test_an_ipv6_attacker_rotating_inside_its_64_is_one_source() -> None:
    detector = EnumerationDetector(threshold=3, window_s=60, max_sources=1000)
    found = [detector.observe(f"2001:db8:1:2::{n:x}", "unknown-mac", None, 1.0) for n in range(1, 4)]
    assert found[-1] is not None and found[-1].source == "2001:db8:1:2::/64"
