from __future__ import annotations

import base64
import contextlib
import urllib.parse
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.fraud.cdr import CdrRowError
from phonewarden.fraud.readers_json import decode_push_body, freeswitch_json_cdr

DOCUMENT = (Path(__file__).resolve().parents[1] / "data" / "fraud" / "freeswitch.json").read_text().strip()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (DOCUMENT.encode(), "application/json"),
        (("cdr=" + urllib.parse.quote(DOCUMENT)).encode(), "application/x-www-form-urlencoded"),
        (b"cdr=" + base64.b64encode(DOCUMENT.encode()), "application/x-www-form-base64-encoded"),
    ],
    ids=["encode=false", "encode=true", "encode=base64"],
)
def test_every_mod_json_cdr_encoding(body: bytes, content_type: str) -> None:
    cdr = freeswitch_json_cdr(decode_push_body(body, content_type))
    assert (cdr.account, cdr.destination, cdr.billsec) == ("acme", "0025261234567", 600.0)


def test_url_encoded_variables_are_decoded() -> None:
    document = decode_push_body(DOCUMENT.encode(), "application/json")
    document["variables"]["accountcode"] = "acme%20west"
    assert freeswitch_json_cdr(document).account == "acme west"


def test_errors_say_what_is_missing() -> None:
    with pytest.raises(CdrRowError, match="no cdr= field"):
        decode_push_body(b"x=1", "application/x-www-form-urlencoded")
    with pytest.raises(CdrRowError, match="no 'variables' object"):
        freeswitch_json_cdr({"callflow": []})
    with pytest.raises(CdrRowError, match="over the"):
        decode_push_body(b" " * (2 << 20), "application/json")


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=300),
    st.sampled_from(
        ["application/json", "application/x-www-form-urlencoded", "application/x-www-form-base64-encoded"]
    ),
)
def test_fuzz_push_body_raises_only_row_errors(body: bytes, content_type: str) -> None:
    with contextlib.suppress(CdrRowError):
        freeswitch_json_cdr(decode_push_body(body, content_type))


def test_b_legs_are_skipped() -> None:
    from phonewarden.fraud.readers_json import is_b_leg, json_object_cdr

    a_leg = decode_push_body(DOCUMENT.encode(), "application/json")
    assert not is_b_leg(a_leg) and json_object_cdr(a_leg, None) is not None
    by_variable = {**a_leg, "variables": {**a_leg["variables"], "originating_leg_uuid": "3e1f2a4c-7d"}}
    profile = {
        "caller_profile": {"destination_number": "1", "originator": {"originator_caller_profiles": []}}
    }
    by_profile = {**a_leg, "callflow": [profile]}
    assert json_object_cdr(by_variable, None) is None and json_object_cdr(by_profile, None) is None
    # The A leg of a bridge names its peer as "originatee": still the call.
    a_bridged = {
        **a_leg,
        "callflow": [{"caller_profile": {"originatee": {"originatee_caller_profiles": []}}}],
    }
    assert not is_b_leg(a_bridged)


def test_the_sip_call_id_is_the_call_id_when_there_is_one() -> None:
    document = decode_push_body(DOCUMENT.encode(), "application/json")
    assert freeswitch_json_cdr(document).call_id == "3e1f2a4c-7d"
    document["variables"]["sip_call_id"] = "abc%40pbx"
    assert freeswitch_json_cdr(document).call_id == "abc@pbx"
