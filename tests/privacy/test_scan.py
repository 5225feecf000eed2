from __future__ import annotations

import base64

from phonewarden.core.records import Segment
from phonewarden.privacy.findings import Destination
from phonewarden.privacy.flows import Flow
from phonewarden.privacy.inventory import parse_inventory
from phonewarden.privacy.scan import CLEAR_WINDOW, MAX_CLEAR_BYTES, LeakScanner
from phonewarden.wire.http import HttpRequest

DEVICES = parse_inventory([{"name": "a", "ip": "198.51.100.7", "imei": "352099001761481"},
                           {"name": "b", "ip": "198.51.100.8", "imsi": "460031234567898"}], "t")  # fmt: skip


def _flow(device: str = "a") -> Flow:
    return Flow(
        Destination(device, "tcp", "202.97.1.10", 80, 0.0, 0.0), True, ("198.51.100.7", 1, "202.97.1.10", 80)
    )


def _segment(payload: bytes) -> Segment:
    return Segment(1.0, "tcp", "198.51.100.7", 1, "202.97.1.10", 80, payload)


def test_value_split_across_segments_is_found_once() -> None:
    scanner, flow = LeakScanner(DEVICES), _flow()
    scanner.scan_stream(flow, _segment(b"x=3520990017"))
    scanner.scan_stream(flow, _segment(b"61481&y=1"))
    [leak] = scanner.leaks.values()
    assert (leak.identifier, leak.encoding, leak.count) == ("imei", "plain", 1)
    assert "352099001761481" not in leak.evidence  # masked


def test_tls_first_bytes_make_the_direction_counted_only() -> None:
    scanner, flow = LeakScanner(DEVICES), _flow()
    scanner.scan_stream(flow, _segment(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc352099001761481"))
    assert flow.bulk and flow.dest.protocol == "tls" and not scanner.leaks


def test_another_devices_identifier_is_labelled() -> None:
    scanner = LeakScanner(DEVICES)
    scanner.scan_stream(_flow("a"), _segment(b"imsi=460031234567898"))
    [leak] = scanner.leaks.values()
    assert leak.device == "a" and leak.evidence.startswith("(identifier of b)")
    assert scanner.stats["foreign_identifier_hits"] == 1


def test_http_tier2_skips_known_values_and_reads_wrapped_base64() -> None:
    scanner, flow = LeakScanner(DEVICES), _flow()
    body = base64.encodebytes(
        b'{"IMEI1":"352099001761481","IMEI2":"356938035643809","pad":"' + b"x" * 60 + b'"}'
    )
    request = HttpRequest("POST", "/act", "HTTP/1.1", "h", [], body, len(body))
    scanner.scan_http(flow, request, _segment(body))
    found = {(leak.identifier, leak.encoding, leak.confidence) for leak in scanner.leaks.values()}
    assert ("imei", "base64", "low") in found  # IMEI2: valid, unknown to the inventory, next to a field name
    assert ("imei", "base64", "high") in found  # IMEI1 is the device's own: found in the unwrapped body
    assert all(leak.field_name != "IMEI1" for leak in scanner.leaks.values() if leak.confidence == "low")


def test_evidence_masks_every_identifier_in_its_window() -> None:
    scanner, flow = LeakScanner(DEVICES), _flow()
    scanner.scan_stream(
        flow, _segment(b'{"IMEI2":"356938035643809","i":"352099001761481","x":"MACID=F0:18:98')
    )
    evidence = {leak.identifier + "/" + leak.confidence: leak.evidence for leak in scanner.leaks.values()}
    assert evidence["imei/high"] == ':"…","i":"[35…81]","x":"MACID=…'
    assert evidence["imei/low"] == '{"IMEI2":"[35…09]","i":"…",'


def test_tier2_over_raw_tcp_split_across_segments_and_udp() -> None:
    scanner, flow = LeakScanner(DEVICES), _flow()
    scanner.scan_stream(flow, _segment(b'\x10\x20{"IMEI1":"35693803'))  # e.g. an MQTT publish
    scanner.scan_stream(flow, _segment(b'5643809","MACID":"F0:18:98:01:02:03"}'))
    found = {(leak.identifier, leak.field_name, leak.count) for leak in scanner.leaks.values()}
    assert found == {("imei", "IMEI1", 1), ("mac", "MACID", 1)}
    udp = Flow(
        Destination("a", "udp", "202.97.1.10", 5683, 0.0, 0.0), True, ("198.51.100.7", 1, "202.97.1.10", 5683)
    )
    scanner.scan_stream(udp, Segment(1.0, "udp", "198.51.100.7", 1, "202.97.1.10", 5683,
                                     b'\x40\x02\x00\x01\xb2nb\xff{"cellid":"219769344"}'))  # fmt: skip
    assert ("cell_id", "cellid") in {(leak.identifier, leak.field_name) for leak in scanner.leaks.values()}


def _scanned(scanner: LeakScanner) -> int:
    return sum(leak.count for leak in scanner.leaks.values())


def test_clear_text_budget_is_per_message_and_per_window() -> None:
    scanner, flow = LeakScanner(DEVICES), _flow()
    filler = b"x" * 65536
    for _ in range((MAX_CLEAR_BYTES >> 16) + 1):
        scanner.scan_stream(flow, _segment(filler))
    scanner.scan_stream(
        flow, Segment(2.0, "tcp", "198.51.100.7", 1, "202.97.1.10", 80, b"imei=352099001761481&")
    )
    assert _scanned(scanner) == 0 and scanner.stats["clear_bytes_not_scanned"] > 0  # bounded
    scanner.new_message(flow, 3.0)  # the engine decoded the next request
    scanner.scan_stream(
        flow, Segment(3.0, "tcp", "198.51.100.7", 1, "202.97.1.10", 80, b"imei=352099001761481&")
    )
    assert _scanned(scanner) == 1
    for _ in range((MAX_CLEAR_BYTES >> 16) + 1):
        scanner.scan_stream(flow, _segment(filler))
    late = 3.0 + CLEAR_WINDOW
    scanner.scan_stream(
        flow, Segment(late, "tcp", "198.51.100.7", 1, "202.97.1.10", 80, b"imei=352099001761481&")
    )
    assert _scanned(scanner) == 2  # a stream with no messages gets a new budget every window
