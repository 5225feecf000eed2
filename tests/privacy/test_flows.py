from __future__ import annotations

from phonewarden.privacy.flows import FlowTable
from phonewarden.privacy.geo import GeoLookup
from phonewarden.privacy.inventory import parse_inventory

DEVICES = parse_inventory(
    [{"name": "p", "ip": "198.51.100.7"}, {"name": "m", "mac": "4c:bc:98:12:34:56"}], "t"
)


def test_direction_device_and_destination() -> None:
    table = FlowTable(DEVICES, GeoLookup(with_org=False), max_flows=4)
    out = table.new_flow("tcp", ("198.51.100.7", 40000, "202.97.1.10", 80), 1.0, b"", b"")
    back = table.answer(out)
    assert out.outbound and not out.bulk and not back.outbound and back.bulk
    assert out.dest is back.dest and (out.dest.device, out.dest.country) == ("p", "CN")


def test_mac_learns_the_address_and_strangers_are_nobody() -> None:
    table = FlowTable(DEVICES, GeoLookup(with_org=False), max_flows=4)
    flow = table.new_flow(
        "udp", ("198.51.100.9", 5000, "9.9.9.9", 53), 1.0, bytes.fromhex("4cbc98123456"), b""
    )
    assert flow.dest.device == "m" and table.by_ip["198.51.100.9"] == "m"
    stranger = table.new_flow("udp", ("203.0.113.5", 1, "9.9.9.9", 53), 1.0, b"", b"")
    assert stranger is table.nobody and stranger.bulk


def test_table_is_bounded_and_quic_dhcp_only_counted() -> None:
    table = FlowTable(DEVICES, GeoLookup(with_org=False), max_flows=2)
    quic = table.new_flow("udp", ("198.51.100.7", 5000, "8.8.4.4", 443), 1.0, b"", b"")
    dhcp = table.new_flow("udp", ("198.51.100.7", 68, "198.51.100.1", 67), 1.0, b"", b"")
    assert quic.bulk and quic.dest.opaque == "quic" and dhcp.bulk
    table.new_flow("tcp", ("198.51.100.7", 40001, "8.8.4.4", 80), 1.0, b"", b"")
    assert len(table.flows) == 2 and table.stats["flow_evictions"] == 1
