from __future__ import annotations

from phonewarden.privacy.geo import GeoLookup, data_sources


def test_country_org_scope() -> None:
    geo = GeoLookup()
    china = geo.place("202.97.1.10")
    assert (china.country, china.org, china.uncertain) == ("CN", "Chinanet", False)
    assert geo.place("8.8.4.4").uncertain  # anycast operator
    assert geo.place("192.168.1.5").scope == "private"
    assert geo.place("not an address").country is None


def test_sources_are_dated() -> None:
    sources = data_sources()
    assert sources["country_date"][:2] == "20" and sources["org_date"][:2] == "20"
