from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.audit.firmware import (
    AdvisoryDataError,
    is_older,
    normalize_model,
    parse_advisories,
    shipped_advisories,
    version_key,
)


def test_yealink_versions_ignore_the_hardware_family() -> None:
    assert version_key("66.84.0.53", "yealink") == (84, 0, 53)
    assert version_key("x.84.0.53", "yealink") == (84, 0, 53)
    assert version_key("66.84.0", "yealink") is None
    assert is_older("66.84.0.20", "x.84.0.53", "yealink") is True
    assert is_older("28.84.0.125", "x.84.0.53", "yealink") is False
    assert is_older("66.83.0.100", "x.84.0.53", "yealink") is True


def test_other_vendors_pad_missing_fields() -> None:
    assert is_older("8.2.35", "8.2.35.0", "snom") is False
    assert is_older("8.2.34.9", "8.2.35", "snom") is True
    assert version_key("873_19_20130321", "snom") is None
    assert is_older("873_19", "8.2.35", "snom") is None


def test_models_are_normalized() -> None:
    assert normalize_model("SIP-T46S") == "T46S"
    assert normalize_model("snomD785") == "D785"


def test_shipped_file_covers_the_required_advisories() -> None:
    advisories, minimums = shipped_advisories()
    cves = {cve for a in advisories for cve in a.cves}
    assert {"CVE-2018-16221", "CVE-2021-27561", "CVE-2026-2329", "CVE-2026-0826", "CVE-2025-64052"} <= cves
    assert {a.vendor for a in advisories} == {"yealink", "snom", "grandstream", "poly", "fanvil"}
    assert all(a.source.startswith(("https://", "http://")) and a.date for a in advisories)
    t4xp = next(a for a in advisories if a.id == "yealink-sit-2019-t4xp")
    assert t4xp.matches("yealink", "SIP-T48G", "35.83.0.99") and not t4xp.matches(
        "yealink", "T48G", "35.83.0.100"
    )
    t4xs = next(a for a in advisories if a.id == "yealink-sit-2019-t4xs")
    assert t4xs.matches("yealink", "T41S", "66.84.0.52") and not t4xs.matches("yealink", "T41S", "66.84.0.53")
    assert not t4xs.matches("yealink", "T41P", "66.84.0.52")
    assert minimums


def test_malformed_entries_name_entry_and_field() -> None:
    entry = 'vendor = "yealink"\nmodels = "T4"\naffected = "< 1.2"\nfixed = ""\ncves = []\nsummary = "s"\n'
    with pytest.raises(AdvisoryDataError, match=r"advisory #1 \(3\): field 'id' must be a string"):
        parse_advisories(f'[[advisory]]\n{entry}source = "u"\ndate = "d"\nid = 3\n', "t")
    with pytest.raises(AdvisoryDataError, match="every entry carries source and date"):
        parse_advisories(f'[[advisory]]\nid = "x"\n{entry}source = ""\ndate = "d"\n', "t")
    with pytest.raises(AdvisoryDataError, match="not comparable"):
        parse_advisories(f'[[advisory]]\nid = "x"\n{entry}source = "u"\ndate = "d"\n', "t")
    with pytest.raises(AdvisoryDataError, match="vendor 'cisco'"):
        parse_advisories('[[advisory]]\nid = "x"\nvendor = "cisco"\n', "t")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 999), min_size=4, max_size=4),
    st.lists(st.integers(0, 999), min_size=4, max_size=4),
)
def test_fuzz_yealink_order_matches_tuple_order(a: list[int], b: list[int]) -> None:
    left, right = ".".join(map(str, a)), ".".join(map(str, b))
    assert is_older(left, right, "yealink") == (tuple(a[1:]) < tuple(b[1:]))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_fuzz_version_key_never_raises(text: str) -> None:
    for vendor in ("yealink", "snom", "poly"):
        key = version_key(text, vendor)
        assert key is None or all(isinstance(part, int) for part in key)
