"""Request forms and provisioning User-Agents of Yealink, Snom and Grandstream; fuzzed parsers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.audit.policy import Vendor
from phonewarden.provisioning.identify import (
    Agent,
    Kind,
    Requested,
    normalize_mac,
    parse_agent,
    parse_path,
    same_model,
)

FUZZ = settings(max_examples=200, deadline=None)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/y000000000028.cfg", Requested(Kind.COMMON, Vendor.YEALINK, None)),
        ("/prov/0015654C4C26.cfg", Requested(Kind.DEVICE, Vendor.YEALINK, "0015654c4c26")),
        ("/000413922D24.xml", Requested(Kind.DEVICE, Vendor.SNOM, "000413922d24")),
        ("/snomD785-000413922D24.htm", Requested(Kind.DEVICE, Vendor.SNOM, "000413922d24", "d785")),
        ("/snomD785.htm", Requested(Kind.DEVICE, Vendor.SNOM, None, "d785")),
        ("/cfgc074ad273a10.xml", Requested(Kind.DEVICE, Vendor.GRANDSTREAM, "c074ad273a10")),
        ("/cfgc074ad273a10", Requested(Kind.DEVICE, Vendor.GRANDSTREAM, "c074ad273a10")),
        ("/../etc/passwd", Requested(Kind.UNKNOWN, None, None)),
        ("/0015654c4c2.cfg", Requested(Kind.UNKNOWN, None, None)),
    ],
)
def test_request_forms(path: str, expected: Requested) -> None:
    assert parse_path(path) == expected


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        ("Yealink SIP-T46S 66.86.0.15 00:15:65:4c:4c:26",
         Agent(Vendor.YEALINK, "T46S", "66.86.0.15", "0015654c4c26")),
        ("Yealink SIP-T46S 66.86.0.15", Agent(Vendor.YEALINK, "T46S", "66.86.0.15", None)),
        ("Yealink SIP VP-T49G 51.80.0.10", Agent(Vendor.YEALINK, "T49G", "51.80.0.10", None)),
        ("Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5 000413922D24 SXM:0 UXM:0)",
         Agent(Vendor.SNOM, "D785", "10.1.33.33", "000413922d24")),
        ("Grandstream Model HW GXP2170 V1.1A SW 1.0.11.6 DevId c074ad273a10",
         Agent(Vendor.GRANDSTREAM, "GXP2170", "1.0.11.6", "c074ad273a10")),
        ("curl/8.0", None),
        ("", None),
    ],
)  # fmt: skip
def test_user_agents(agent: str, expected: Agent | None) -> None:
    assert parse_agent(agent) == expected


def test_mac_forms_and_errors() -> None:
    assert normalize_mac(" 00-15-65-4C-4C-26 ") == "0015654c4c26"
    assert normalize_mac("0015.654c.4c26") == "0015654c4c26"
    with pytest.raises(ValueError, match="'00:15:65:4c:4c' is not a MAC"):
        normalize_mac("00:15:65:4c:4c")
    with pytest.raises(ValueError, match="is not a MAC"):
        normalize_mac("00:15:65:4c:4c:zz")


def test_model_spellings() -> None:
    assert same_model("SIP-T46S", "t46s") and same_model("snomD785", "D785")
    assert not same_model("T46G", "T46S")


@FUZZ
@given(st.binary(min_size=6, max_size=6), st.sampled_from([":", "-", ""]), st.booleans())
def test_any_mac_spelling_normalizes_to_its_hex(raw: bytes, sep: str, upper: bool) -> None:
    text = sep.join(f"{b:02x}" for b in raw)
    assert normalize_mac(text.upper() if upper else text) == raw.hex()
    assert parse_path(f"/{raw.hex().upper()}.cfg") == Requested(Kind.DEVICE, Vendor.YEALINK, raw.hex())


@FUZZ
@given(st.text(max_size=600))
def test_arbitrary_user_agents_parse_or_are_refused_without_crashing(text: str) -> None:
    agent = parse_agent(text)
    assert agent is None or (agent.mac is None or len(agent.mac) == 12)


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_paths_never_crash_and_macs_are_always_normalized(path: str) -> None:
    requested = parse_path(path)
    assert requested.mac is None or normalize_mac(requested.mac) == requested.mac
    if requested.kind is Kind.UNKNOWN:
        assert requested == Requested(Kind.UNKNOWN, None, None)


@FUZZ
@given(st.binary(min_size=6, max_size=6), st.from_regex(r"[A-Z]{1,2}[0-9]{2,3}[A-Z]?", fullmatch=True),
       st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){2,3}", fullmatch=True))  # fmt: skip
def test_yealink_agents_round_trip(raw: bytes, model: str, firmware: str) -> None:
    mac = ":".join(f"{b:02x}" for b in raw)
    assert parse_agent(f"Yealink SIP-{model} {firmware} {mac}") == Agent(
        Vendor.YEALINK, model, firmware, raw.hex()
    )
