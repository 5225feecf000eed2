"""Offline country and organisation of an address, with the data's source and date.

Country: iptocc (RIR delegation files, rebuilt nightly; the *registered* country of the block, in a Rust
extension: ~10 M lookups/s). Organisation (AS name): geoip2fast's GeoLite2-derived ASN file, which also
gives a second, location-based country. Both ship inside their wheels; nothing is downloaded. When the
two countries disagree, or the organisation is a cloud/CDN/anycast operator, the country is marked
uncertain: such an address may serve users from anywhere.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from typing import Any

import iptocc

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
        self._asn: Any = None
        self._with_org = with_org
        self._cache: dict[str, Place] = {}

    def _asn_db(self) -> Any:
        if self._asn is None:
            self._asn = asn_database()
        return self._asn

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
                answer = self._asn_db().lookup(address)
                org = answer.asn_name or None
                located = answer.country_code if answer.country_code not in ("", "--") else None
            global_operator = org is not None and any(name in org.lower() for name in GLOBAL_OPERATORS)
            disagree = located is not None and country is not None and located != country
            place = Place(country or located, org, global_operator or disagree, scope)
        if len(self._cache) >= 65536:
            self._cache.clear()
        self._cache[address] = place
        return place


@lru_cache(maxsize=1)
def asn_database() -> Any:
    """geoip2fast's ASN file, loaded once per process (~12 MB, ~0.2 s): only when an address needs it."""
    from geoip2fast import GeoIP2Fast

    return GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn.dat.gz", verbose=False)


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
        # get_database_info() would also count every network (~0.3 s); the attribute is all we need.
        source = str(asn_database().source_info)  # MAXMIND:GeoLite2-CountryASN-IPv4-en-20240618
        sources["org"] = f"geoip2fast {metadata.version('geoip2fast')} ({source.split('-en-')[0]})"
        stamp = source.rsplit("-", 1)[-1]
        sources["org_date"] = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}"
    except (ImportError, AttributeError, OSError):
        sources["org"], sources["org_date"] = "unavailable", "unknown"
    return sources
