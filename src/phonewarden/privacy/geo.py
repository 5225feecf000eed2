"""Offline country and organisation of an address, with the data's source and date.

Country: iptocc (RIR delegation files, rebuilt nightly; the *registered* country of the block, in a Rust
extension: ~10 M lookups/s). Organisation (AS name): geoip2fast's GeoLite2-derived ASN files (IPv4 and
IPv6), which also give a second, location-based country; they are read through `asntable`, flat copies
mapped from cache files. Both ship inside their packages; nothing is downloaded.

The country is marked uncertain (such an address may serve users from anywhere, or nobody confirms where
it is) when the organisation is a cloud/CDN/anycast operator, when the two countries disagree, or when
the block is registered to a country but GeoLite2 does not locate the address at all: then the
registration is the only word on it. The last case is rare for IPv4 (under 0.1% of registered space) but
common for IPv6 (about 12%, GeoLite2 2024-06-18), so an IPv6 address is `ok` under a policy only where
both datasets place it in the same country. An address that GeoLite2 locates but names no organisation
for keeps its country as certain, in both families: two datasets agree on it.

NAT64 addresses (64:ff9b::/96, RFC 6052, used by IPv6-only mobile networks) and IPv4-mapped addresses
(::ffff:0:0/96) are looked up as the IPv4 address they carry: that is the server the device reaches.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata

import iptocc

from phonewarden.privacy.asntable import DATA_FILES, AsnTable, AsnTableError, load_table

# AS-name fragments of operators whose addresses are anycast or served from many countries.
# Source: operator names as they appear in GeoLite2-ASN (geoip2fast 1.2.2 data, 2024-06-18); 2026-11.
GLOBAL_OPERATORS = (
    "akamai", "amazon", "cloudflare", "fastly", "google", "microsoft", "edgecast", "limelight",
    "incapsula", "stackpath", "cdn77", "bunny", "oracle", "alibaba", "tencent", "digitalocean",
    "ovh", "hetzner", "linode", "leaseweb", "apple",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Place:
    country: str | None  # ISO 3166 alpha-2, None for private/reserved or unknown
    org: str | None
    uncertain: bool
    scope: str  # public, private, loopback, link-local, multicast, reserved


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_TEST_NETWORKS = (ipaddress.IPv4Network("198.51.100.0/24"), ipaddress.IPv4Network("203.0.113.0/24"))


def _carried_ipv4(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside a NAT64 or IPv4-mapped IPv6 address."""
    if address.version == 4:
        return None
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.ipv4_mapped


def _scope(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if address.is_loopback:
        return "loopback"
    if address.is_multicast:
        return "multicast"
    if address.is_link_local:
        return "link-local"
    if address.is_private and not _documentation(address):
        return "private"
    if address.is_reserved or address.is_unspecified:
        return "reserved"
    return "public"


def _documentation(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # 198.51.100.0/24, 203.0.113.0/24 are the test servers' networks: treat them as the internet.
    return any(address in network for network in _TEST_NETWORKS)


class GeoLookup:
    def __init__(self, with_org: bool = True) -> None:
        self._with_org = with_org
        self._cache: dict[str, Place] = {}

    def place(self, address: str) -> Place:
        cached = self._cache.get(address)
        if cached is not None:
            return cached
        try:
            parsed: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
        except ValueError:
            return Place(None, None, True, "reserved")
        parsed = _carried_ipv4(parsed) or parsed
        scope = _scope(parsed)
        if scope != "public":
            place = Place(None, None, False, scope)
        else:
            country = iptocc.country_code(str(parsed))
            if not self._with_org:
                place = Place(country, None, False, scope)
            else:
                answer = asn_database(parsed.version).lookup(int(parsed))
                org, located = answer.org, answer.country
                global_operator = org is not None and any(name in org.lower() for name in GLOBAL_OPERATORS)
                disagree = located is not None and country is not None and located != country
                unconfirmed = located is None and country is not None
                place = Place(country or located, org, global_operator or disagree or unconfirmed, scope)
        if len(self._cache) >= 65536:
            self._cache.clear()
        self._cache[address] = place
        return place


@lru_cache(maxsize=2)
def asn_database(family: int = 4) -> AsnTable:
    """geoip2fast's ASN data of one address family as a mapped table (~1 ms; the first run on a machine
    builds it, ~1–1.5 s a family). The IPv6 table is only mapped when an IPv6 address is looked up."""
    return load_table(family=family)


@lru_cache(maxsize=1)
def data_sources() -> dict[str, str]:
    """Which datasets answered, and how old they are: every report shows this."""
    sources = {"country": f"iptocc {metadata.version('iptocc')} (RIR delegations)"}
    try:
        files = metadata.distribution("iptocc").files or []
        sbom = next(file for file in files if file.name.endswith(".cyclonedx.json"))
        document = json.loads(sbom.read_text())
        sources["country_date"] = str(document["metadata"]["timestamp"])[:10]
    except (OSError, KeyError, ValueError, TypeError, StopIteration):
        sources["country_date"] = "unknown"
    try:
        source = asn_database().source  # MAXMIND:GeoLite2-CountryASN-IPv4-en-20240618
        # The IPv6 file ships in the same release, of the same date (tests/privacy/test_geo.py checks).
        version = metadata.version("geoip2fast")
        sources["org"] = f"geoip2fast {version} ({source.split('-en-')[0]}; IPv6: {DATA_FILES[6]})"
        stamp = source.rsplit("-", 1)[-1]
        sources["org_date"] = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}"
    except (AsnTableError, metadata.PackageNotFoundError, OSError):
        sources["org"], sources["org_date"] = "unavailable", "unknown"
    return sources
