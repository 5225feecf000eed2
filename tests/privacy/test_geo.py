from __future__ import annotations

import socket
import struct

import pytest

from phonewarden.core.records import Frame
from phonewarden.privacy.geo import GeoLookup, asn_database, data_sources
from phonewarden.privacy.inventory import parse_inventory
from phonewarden.privacy.policy import parse_policy
from phonewarden.privacy.service import analyze_frames


def test_country_org_scope() -> None:
    geo = GeoLookup()
    china = geo.place("202.97.1.10")
    assert (china.country, china.org, china.uncertain) == ("CN", "Chinanet", False)
    assert geo.place("8.8.4.4").uncertain  # anycast operator
    assert geo.place("192.168.1.5").scope == "private"
    assert geo.place("not an address").country is None


@pytest.mark.parametrize(
    ("address", "country", "org"),
    [
        ("2a00:1450:4001:80b::200e", "IE", "GOOGLE"),  # the review's example: was "IE, certain, no org"
        ("2606:4700::6810:84e5", "US", "CLOUDFLARENET"),
        ("2a01:4f8::1", "DE", "Hetzner Online GmbH"),
    ],
)
def test_ipv6_global_operators_are_uncertain(address: str, country: str, org: str) -> None:
    place = GeoLookup().place(address)
    assert (place.country, place.org, place.uncertain, place.scope) == (country, org, True, "public")


def test_ipv6_certain_only_when_both_datasets_agree() -> None:
    geo = GeoLookup()
    isp = geo.place("2a02:2e0:3fe:1001:302::")  # registered DE, located DE, a German hoster
    assert (isp.country, isp.org, isp.uncertain) == ("DE", "Plus.line AG", False)
    located_no_org = geo.place("2630:7557:c7fa:bc04:a19d:29e8:8b23:b95")  # registered US, located US
    assert (located_no_org.country, located_no_org.org, located_no_org.uncertain) == ("US", None, False)
    unlocated = geo.place("2410:66a1:387:1776:6e94:ee36:417b:32a7")  # registered SG, GeoLite2 has nothing
    assert (unlocated.country, unlocated.org, unlocated.uncertain) == ("SG", None, True)
    elsewhere = geo.place("2a09:cdc6:ee4a:ec5:161f:f702:a5bf:fa56")  # registered IT, located ES
    assert (elsewhere.country, elsewhere.uncertain) == ("IT", True)


def test_nat64_and_mapped_addresses_are_the_ipv4_server() -> None:
    geo = GeoLookup()
    for address in ("64:ff9b::ca61:10a", "::ffff:202.97.1.10", "64:ff9b::202.97.1.10"):
        place = geo.place(address)
        assert (place.country, place.org, place.uncertain, place.scope) == ("CN", "Chinanet", False, "public")
    assert geo.place("64:ff9b::c0a8:105").scope == "private"  # 192.168.1.5 behind the translator
    assert geo.place("2001:db8::7").scope == "private"  # documentation prefix, never a real server


def test_without_org_tables() -> None:
    place = GeoLookup(with_org=False).place("2606:4700::6810:84e5")
    assert (place.country, place.org, place.uncertain) == ("US", None, False)


def test_sources_are_dated() -> None:
    sources = data_sources()
    assert sources["country_date"][:2] == "20" and sources["org_date"][:2] == "20"
    assert "IPv6: geoip2fast-asn-ipv6.dat.gz" in sources["org"]
    # One date stands for both ASN files: it must be the IPv6 file's date too.
    assert asn_database(6).source.rsplit("-", 1)[-1] == asn_database(4).source.rsplit("-", 1)[-1]


def _udp6(src: str, dst: str, payload: bytes) -> Frame:
    udp = struct.pack("!HHHH", 40000, 5000, 8 + len(payload), 0) + payload
    ip6 = struct.pack("!IHBB", 0x60000000, len(udp), 17, 64) + socket.inet_pton(socket.AF_INET6, src)
    ip6 += socket.inet_pton(socket.AF_INET6, dst) + udp
    data = bytes.fromhex("001122334455") + bytes.fromhex("4cbc98123456") + b"\x86\xdd" + ip6  # to, from, IPv6
    return Frame(1.0, 1, data, len(data))


def test_ipv6_destinations_through_analyze() -> None:
    devices = parse_inventory(
        [{"name": "german", "ip": ["2001:db8::7"]}, {"name": "cdn", "ip": ["2001:db8::8"]}], "test inventory"
    )
    frames = [
        _udp6("2001:db8::7", "2a02:2e0:3fe:1001:302::", b"hello"),
        _udp6("2001:db8::8", "2606:4700::6810:84e5", b"hello"),
    ]
    analysis = analyze_frames(frames, devices, [parse_policy("eu")])
    places = {d.device: (d.country, d.org, d.uncertain) for d in analysis.destinations}
    assert places == {"german": ("DE", "Plus.line AG", False), "cdn": ("US", "CLOUDFLARENET", True)}
    assert {v.device: v.status for v in analysis.verdicts} == {"german": "ok", "cdn": "uncertain"}
