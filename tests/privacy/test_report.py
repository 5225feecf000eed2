from __future__ import annotations

import pycountry
import pytest

from phonewarden.privacy.findings import Destination, Leak
from phonewarden.privacy.report import country_name, sentence


def test_sentence_for_a_non_expert() -> None:
    dest = Destination("nokia", "tcp", "202.97.1.10", 80, 0.0, 1.0, host="zzhc.vnet.cn", country="CN")
    leak = Leak(1_764_000_000.0, "nokia", "imei", "base64", "high", dest, "…")
    text = sentence(leak)
    assert text.startswith("Your device nokia sent its IMEI") and "China (zzhc.vnet.cn)" in text
    assert "base64" in text and "2025-11-24" in text
    hashed = sentence(Leak(0.0, "nokia", "imsi", "sha256", "low", dest, "…"))
    assert hashed.startswith("Possibly:") and "SHA256" in hashed


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("CN", "China"),
        ("US", "the United States"),
        ("KR", "South Korea"),  # pycountry's common name, not "Korea, Republic of"
        ("RU", "Russia"),
        ("NL", "the Netherlands"),
        ("IE", "Ireland"),
        ("CD", "the Democratic Republic of the Congo"),
        ("XK", "XK"),  # not in ISO 3166: the code itself
        (None, "an unknown country"),
    ],
)
def test_country_names(code: str | None, name: str) -> None:
    assert country_name(code) == name


def test_every_iso_country_reads_as_a_name() -> None:
    codes = [country.alpha_2 for country in pycountry.countries]
    names = [country_name(code) for code in codes]
    assert len(names) == 249 and not set(names) & set(codes)
    # No list-order form ("Korea, Republic of"): the only commas are in names that are lists themselves.
    with_comma = sorted(name for name in names if ", " in name)
    assert with_comma == ["Bonaire, Sint Eustatius and Saba", "Saint Helena, Ascension and Tristan da Cunha"]


def test_sentence_names_any_country() -> None:
    dest = Destination("nokia", "udp", "2001:67c:2e8:22::c100:68b", 53, 0.0, 1.0, country="IE")
    text = sentence(Leak(0.0, "nokia", "imei", "plain", "high", dest, "…"))
    assert "to a server in Ireland on" in text
