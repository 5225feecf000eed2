from __future__ import annotations

from phonewarden.shield.detect_flood import FloodDetector
from phonewarden.shield.findings import Reporter, source_key
from tests.shield.records import request


def _detector() -> FloodDetector:
    return FloodDetector(Reporter("flood", 10, 1000, 3), 50, 2, 1000)


def test_a_burst_over_the_limit_is_a_flood_and_reported_once() -> None:
    detector = _detector()
    message = request("198.51.100.9", 0.0, "OPTIONS").body
    results = [detector.observe("198.51.100.9", message, 1.0) for n in range(200)]
    found = [r for r in results if r is not None]
    assert results.index(found[0]) == 50  # the 51st request of the burst overflows
    assert len(found) == 1 and found[0].evidence["method"] == "OPTIONS"
    assert len(found[0].evidence["samples"]) == 3


def test_a_sustained_rate_above_limit_per_window_is_a_flood() -> None:
    message = request("198.51.100.9", 0.0, "OPTIONS").body
    fast = _detector()  # 50 per 2 s: drains 25 per second
    assert any(fast.observe("198.51.100.9", message, n / 30) for n in range(30 * 10))
    slow = _detector()
    assert not any(slow.observe("198.51.100.9", message, n / 20) for n in range(20 * 60))


def test_forty_registers_of_twenty_phones_in_a_second_are_not() -> None:
    detector = _detector()
    message = request("198.51.100.20", 0.0).body
    assert all(detector.observe("198.51.100.20", message, n / 40) is None for n in range(40))


def test_ipv6_sources_in_one_slash_64_are_one_key() -> None:
    detector = _detector()
    message = request("2001:db8::1", 0.0, "OPTIONS").body
    keys = {source_key(f"2001:db8::{n:x}") for n in range(1, 80)}
    assert keys == {"2001:db8::/64"}
    results = [detector.observe(source_key(f"2001:db8::{n:x}"), message, n * 0.001) for n in range(1, 80)]
    assert any(results)


def test_a_method_with_its_own_lower_limit_floods_before_the_all_methods_limit() -> None:
    detector = FloodDetector(Reporter("flood", 10, 1000, 3), 50, 2, 1000, {"invite": 20})
    invite = request("198.51.100.9", 0.0, "INVITE").body
    results = [detector.observe("198.51.100.9", invite, 1.0) for n in range(30)]
    found = [r for r in results if r is not None]
    assert results.index(found[0]) == 20 and len(found) == 1
    assert found[0].evidence["limit"] == 20 and "INVITE requests" in found[0].reason
    options = request("198.51.100.10", 0.0, "OPTIONS").body
    assert all(detector.observe("198.51.100.10", options, 1.0) is None for n in range(30))
    assert set(detector.sizes()) == {"flood_keys", "flood_keys_INVITE"}
