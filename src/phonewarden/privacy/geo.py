"""Offline country and organisation of an address, with the data's source and date.

Country: iptocc (RIR delegation files, rebuilt nightly; the *registered* country of the block, in a Rust
extension: ~10 M lookups/s). Organisation (AS name): geoip2fast's GeoLite2-derived ASN file, which also
gives a second, location-based country; it is read through `asntable`, a flat copy mapped from a cache
file. Both ship inside their packages; nothing is downloaded. When the
two countries disagree, or the organisation is a cloud/CDN/anycast operator, the country is marked
uncertain: such an address may serve users from anywhere.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata

import iptocc

from phonewarden.privacy.asntable import AsnTable, AsnTableError, load_table

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
    return any(address in ipaddress.ip_network(net) for net in ("198.51.100.0/24", "203.0.113.0/24"))


class GeoLookup:
    def __init__(self, with_org: bool = True) -> None:
        self._with_org = with_org
        self._cache: dict[str, Place] = {}

    def place(self, address: str) -> Place:
        cached = self._cache.get(address)
        if cached is not None:
            return cached
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return Place(None, None, True, "reserved")
        scope = _scope(parsed)
        if scope != "public":
            place = Place(None, None, False, scope)
        else:
            country = iptocc.country_code(address)
            org, located = None, None
            if self._with_org and parsed.version == 4:
                answer = asn_database().lookup(int(parsed))
                org, located = answer.org, answer.country
            global_operator = org is not None and any(name in org.lower() for name in GLOBAL_OPERATORS)
            disagree = located is not None and country is not None and located != country
            place = Place(country or located, org, global_operator or disagree, scope)
        if len(self._cache) >= 65536:
            self._cache.clear()
        self._cache[address] = place
        return place


@lru_cache(maxsize=1)
def asn_database() -> AsnTable:
    """geoip2fast's ASN data as a mapped table (~1 ms; the first run on a machine builds it, ~1.5 s)."""
    return load_table()


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
        sources["org"] = f"geoip2fast {metadata.version('geoip2fast')} ({source.split('-en-')[0]})"
        stamp = source.rsplit("-", 1)[-1]
        sources["org_date"] = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}"
    except (AsnTableError, metadata.PackageNotFoundError, OSError):
        sources["org"], sources["org_date"] = "unavailable", "unknown"
    return sources
