from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.audit.fingerprint import Fingerprint, from_header, vendor_from_to_tag


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Yealink SIP-T46S 66.85.0.5", ("yealink", "T46S", "66.85.0.5")),
        ("Yealink SIP-T21P_E2 52.83.0.35", ("yealink", "T21P_E2", "52.83.0.35")),
        ("Yealink W60B 77.83.0.85", ("yealink", "W60B", "77.83.0.85")),
        ("snomD785/10.1.84.12", ("snom", "D785", "10.1.84.12")),
        ("snom370/8.7.5.48", ("snom", "370", "8.7.5.48")),
        ("Grandstream GXP1625 1.0.2.25", ("grandstream", "GXP1625", "1.0.2.25")),
        (
            "Grandstream Model HW HT801 V1.1A SW 1.0.17.5 DevId c074ad273a10",
            ("grandstream", "HT801", "1.0.17.5"),
        ),
        ("PolycomRealPresenceTrio-Trio_8800-UA/7.2.2.1094", ("poly", "TRIO 8800", "7.2.2.1094")),
        ("Fanvil X4 2.10.2.6887 0c383e07e16c", ("fanvil", "X4", "2.10.2.6887")),
        ("Asterisk PBX 20.1.0", (None, None, None)),
    ],
)
def test_user_agents_of_the_reference_notes(header: str, expected: tuple[str | None, ...]) -> None:
    found = from_header(header)
    assert (found.vendor, found.model, found.firmware) == expected


def test_to_tag_hints() -> None:
    assert vendor_from_to_tag("plcm_12345") == "poly"
    assert vendor_from_to_tag("1234567890") == "yealink"
    assert vendor_from_to_tag("0123456789abcdef") == "grandstream"
    assert vendor_from_to_tag("as7f2") is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_any_header_gives_a_fingerprint(header: str) -> None:
    assert isinstance(from_header(header), Fingerprint)
