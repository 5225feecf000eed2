from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.core.records import Frame
from phonewarden.privacy.engine import PrivacyEngine
from phonewarden.privacy.inventory import parse_inventory

DEVICES = parse_inventory([{"name": "p", "ip": "198.51.100.7", "imei": "352099001761481"}], "t")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=5))
def test_garbage_frames_never_raise(frames: list[bytes]) -> None:
    engine = PrivacyEngine(DEVICES)
    for index, data in enumerate(frames):
        engine.feed(Frame(float(index), 1, data, len(data)))
    assert engine.leaks == {}


def test_udp_leak_and_auto_devices() -> None:
    import struct

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
