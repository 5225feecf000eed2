from __future__ import annotations

import base64
import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.privacy.variants import base64_fragments, plain_spellings, tbcd, variants


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=10), st.text("0123456789", min_size=8, max_size=20), st.binary(max_size=10))
def test_a_base64_fragment_survives_any_surrounding(prefix: bytes, value: str, suffix: bytes) -> None:
    blob = base64.b64encode(prefix + value.encode() + suffix)
    assert any(fragment.encode() in blob for fragment in base64_fragments(value.encode()))


def test_imsi_tbcd_is_nibble_swapped() -> None:
    plain, identity = tbcd("262011234567890")
    assert plain.hex() == "62021132547698f0"
    assert identity.hex() == "2926102143658709"  # first byte: digit 2, odd length, type IMSI


def test_encodings_cover_the_issue_list() -> None:
    found = {v.encoding for v in variants("imsi", "262011234567890")}
    assert {"plain", "base64", "hex", "bcd", "md5", "sha1", "sha256"} <= found
    mac = {v.pattern: v.encoding for v in variants("mac", "4c:bc:98:12:34:56")}
    assert mac[b"4c%3Abc%3A98%3A12%3A34%3A56"] == "url"
    assert mac[b"4CBC98123456"] == "plain"
    assert mac[hashlib.sha1(b"4C:BC:98:12:34:56").hexdigest().encode()] == "sha1"


def test_no_pattern_shorter_than_six_bytes() -> None:
    assert min(len(v.pattern) for v in variants("cell_id", "2197693")) >= 6


def test_msisdn_spellings_include_the_00_international_form() -> None:
    forms = ["4915112345678", "+4915112345678", "004915112345678"]
    assert plain_spellings("msisdn", "4915112345678") == forms
    patterns = {v.pattern: v.encoding for v in variants("msisdn", "4915112345678")}
    assert patterns[b"004915112345678"] == "plain" and patterns[b"%2B4915112345678"] == "url"
