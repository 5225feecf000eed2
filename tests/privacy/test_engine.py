from __future__ import annotations

import random
import socket
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.core.records import Frame
from phonewarden.privacy.detect_new import Baseline, new_destinations
from phonewarden.privacy.engine import PrivacyEngine
from phonewarden.privacy.inventory import Device, parse_inventory
from phonewarden.privacy.policy import parse_policy, verdicts
from phonewarden.wire.tls import EXT_ECH
from tests.privacy.frames import PHONE_MAC, connection
from tests.wire.test_tls import ext, handshake, hello_body, records, sni_ext

DEVICES = parse_inventory([{"name": "p", "ip": "198.51.100.7", "imei": "352099001761481"}], "t")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=5))
def test_garbage_frames_never_raise(frames: list[bytes]) -> None:
    engine = PrivacyEngine(DEVICES)
    for index, data in enumerate(frames):
        engine.feed(Frame(float(index), 1, data, len(data)))
    assert engine.leaks == {}


def test_udp_leak_and_auto_devices() -> None:
    payload = b"id=352099001761481"
    udp = struct.pack("!HHHH", 40000, 9999, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes([198, 51, 100, 7]),
                     bytes([202, 97, 1, 10])) + udp  # fmt: skip
    frame = Frame(1.0, 1, b"\0" * 12 + b"\x08\x00" + ip, 14 + len(ip))
    engine = PrivacyEngine(DEVICES)
    engine.feed(frame)
    [leak] = engine.leaks.values()
    assert (leak.identifier, leak.encoding, leak.destination.country) == ("imei", "plain", "CN")
    auto = PrivacyEngine([])
    auto.feed(frame)
    assert not auto.destinations  # 198.51.100.7 is not a private address: no device without an inventory


# Names, opacity and what is scanned, through the whole engine.

PHONE, CDN = "198.51.100.7", "104.16.132.229"


def _udp(time: float, src: str, sport: int, dst: str, dport: int, payload: bytes) -> Frame:
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, socket.inet_aton(src),
                     socket.inet_aton(dst)) + udp  # fmt: skip
    data = b"\x00\x11\x22\x33\x44\x55" + PHONE_MAC + b"\x08\x00" + ip
    return Frame(time, 1, data, len(data))


def _later(frames: list[Frame], shift: float) -> list[Frame]:
    return [Frame(f.time + shift, f.linktype, f.data, f.wire_len) for f in frames]


def _hello(name: bytes | None, ech: bool = False) -> bytes:
    extensions = (sni_ext(name) if name else b"") + (ext(EXT_ECH, b"\x00" * 8) if ech else b"")
    return records(handshake(hello_body(extensions)))


def _dns_answer(time: float, name: bytes, address: str) -> Frame:
    question = b"".join(bytes([len(label)]) + label for label in name.split(b".")) + b"\0\0\1\0\1"
    answer = b"\xc0\x0c\0\1\0\1" + struct.pack("!IH", 300, 4) + socket.inet_aton(address)
    message = struct.pack("!HHHHHH", 7, 0x8180, 1, 1, 0, 0) + question + answer
    return _udp(time, "9.9.9.9", 53, PHONE, 40053, message)


def _run(frames: list[Frame], devices: list[Device] | None = None) -> PrivacyEngine:
    engine = PrivacyEngine(DEVICES if devices is None else devices)
    engine.feed_all(frames)
    return engine


def test_every_name_on_a_shared_address_is_judged_and_alerts() -> None:
    frames = connection(PHONE, CDN, 443, [_hello(b"tracker.evil.example")], sport=40001)
    frames += _later(connection(PHONE, CDN, 443, [_hello(b"api.vendor.com")], sport=40002), 10)
    [dest] = _run(frames).destinations.values()
    assert dest.names == ["tracker.evil.example", "api.vendor.com"] and dest.opaque is None
    [verdict] = verdicts(parse_policy("domains:vendor.com"), [dest], ["p"], 11.0)
    assert verdict.status == "violation" and "tracker.evil.example" in verdict.reasons[0]
    baseline = Baseline()
    baseline.add("p", "api.vendor.com", "US")
    assert [alert.to_json()["host"] for alert in new_destinations(baseline, [dest])] == [
        "tracker.evil.example"
    ]


def test_each_connection_takes_the_name_resolved_for_it() -> None:
    mqtt = b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00"
    first = _later(connection(PHONE, CDN, 1883, [mqtt]), 1)
    second = _later(connection(PHONE, CDN, 1883, [mqtt], sport=40001), 6)
    frames = [
        _dns_answer(0.0, b"a.vendor.com", CDN),
        *first,
        _dns_answer(5.0, b"b.other.example", CDN),
        *second,
    ]
    dests = [d for d in _run(frames).destinations.values() if d.port == 1883]
    assert [d.names for d in dests] == [["a.vendor.com", "b.other.example"]]


def test_ech_and_no_sni_mark_the_destination_for_good() -> None:
    frames = connection(PHONE, CDN, 443, [_hello(b"public.example", ech=True)], sport=40001)
    frames += _later(connection(PHONE, CDN, 443, [_hello(b"api.vendor.com")], sport=40002), 10)
    [dest] = _run(frames).destinations.values()
    assert (dest.protocol, dest.opaque) == ("tls", "ech")
    frames = connection(PHONE, CDN, 443, [_hello(None)], sport=40001)
    frames += _later(connection(PHONE, CDN, 443, [_hello(b"api.vendor.com")], sport=40002), 10)
    [dest] = _run(frames).destinations.values()
    assert (dest.host, dest.opaque) == ("api.vendor.com", "tls-no-sni")


def test_dns_over_tls_is_counted_not_scanned() -> None:
    payload = b"\x00\x20imei=352099001761481&q=example.org"
    engine = _run(connection(PHONE, "9.9.9.9", 853, [payload]))
    [dest] = engine.destinations.values()
    assert (dest.protocol, dest.opaque, dest.bytes_out) == ("dot", "dot", len(payload))
    assert engine.leaks == {}


def test_tier2_in_http_headers_raw_tcp_and_coap() -> None:
    head = (b"GET /reg HTTP/1.1\r\nHost: zzhc.vnet.cn\r\nX-IMEI: 356938035643809\r\n"
            b"X-Device-MAC: F0:18:98:01:02:03\r\n\r\n")  # fmt: skip
    raw = b'{"IMEI1":"356938035643809","MACID":"F0:18:98:01:02:03"}\n'
    frames = connection(PHONE, "202.97.1.10", 80, [head]) + connection(
        PHONE, "202.97.1.10", 9999, [raw], sport=40001
    )
    frames.append(_udp(1.0, PHONE, 40002, "202.97.1.10", 5683, b"\x40\x02\x00\x01" + raw))
    found = {
        (leak.destination.port, leak.identifier, leak.field_name) for leak in _run(frames).leaks.values()
    }
    assert found == {(80, "imei", "X-IMEI"), (80, "mac", "X-Device-MAC"), (9999, "imei", "IMEI1"),
                     (9999, "mac", "MACID"), (5683, "imei", "IMEI1"), (5683, "mac", "MACID")}  # fmt: skip


def test_a_keep_alive_connection_is_scanned_after_its_first_mebibyte() -> None:
    body = b"y" * (1 << 20) + b"z" * 4096
    upload = b"POST /u HTTP/1.1\r\nHost: t.example\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    pieces = [upload[i : i + 1400] for i in range(0, len(upload), 1400)]
    pieces.append(b"GET /r?imei=352099001761481 HTTP/1.1\r\nHost: t.example\r\n\r\n")
    engine = _run(connection(PHONE, "202.97.1.10", 80, pieces))
    assert {(leak.identifier, leak.encoding) for leak in engine.leaks.values()} == {("imei", "plain")}


def test_benign_numbers_holding_a_short_identifier_are_no_tier1_leak() -> None:
    cell, msisdn = "2197693", "4711234"
    devices = parse_inventory([{"name": "p", "ip": PHONE, "cell_id": cell, "msisdn": msisdn}], "t")
    rng, frames = random.Random(7), []
    for index in range(40):
        stamp = int(f"{rng.randrange(1, 999)}{cell}{rng.choice(['', str(rng.randrange(10))])}")
        body = b'{"order":"ORD-%d%s%d","ts":%d,"ms":%d%s}' % (
            rng.randrange(1, 99),
            msisdn.encode(),
            rng.randrange(100, 999),
            stamp,
            rng.randrange(1, 9),
            cell.encode(),
        )
        request = (
            b"POST /api/order HTTP/1.1\r\nHost: shop.example.de\r\nContent-Length: %d\r\n\r\n" % len(body)
            + body
        )
        frames += _later(connection(PHONE, "85.214.2.20", 80, [request], sport=41000 + index), index)
        frames += _later(connection(PHONE, "85.214.2.20", 9999, [body + b"\n"], sport=42000 + index), index)
        frames.append(
            _udp(index + 0.5, PHONE, 43000 + index, "85.214.2.20", 5683, b"\x40\x02\x00\x01" + body)
        )
    assert [leak for leak in _run(frames, devices).leaks.values() if leak.confidence == "high"] == []
    plain = b'{"cell":2197693,"n":"4711234"}'
    request = b"POST /c HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(plain) + plain
    planted = connection(PHONE, "85.214.2.20", 80, [request])
    found = {(leak.identifier, leak.encoding) for leak in _run(planted, devices).leaks.values()}
    assert found == {("cell_id", "plain"), ("msisdn", "plain")}
