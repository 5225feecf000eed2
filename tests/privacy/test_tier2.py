from __future__ import annotations

import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.privacy.tier2 import decoded_base64, find_unknown, valid


def test_field_named_valid_values_only() -> None:
    body = (
        b'{"IMEI1":"356938035643809","order":"356938035643809",'
        b'"imsi":"262011234567890","MACID":"01:00:5e:00:00:01"}'
    )
    found = [(f.identifier, f.field_name) for f in find_unknown(body)]
    assert found == [("imei", "IMEI1"), ("imsi", "imsi")]  # multicast MAC refused, "order" is no field name


def test_validators() -> None:
    assert valid("imei", "356938035643809") and not valid("imei", "356938035643808")
    assert valid("iccid", "89860318640220133897") and not valid("iccid", "12860318640220133897")
    assert valid("mac", "f0:18:98:01:02:03") and not valid("mac", "02:18:98:01:02:03")
    assert not valid("imsi", "999991234567890")


def test_base64_body_decoded() -> None:
    assert decoded_base64(base64.encodebytes(b'{"a": "bcdefghijklmnopq"}')) == b'{"a": "bcdefghijklmnopq"}'
    assert decoded_base64(b"not base64 at all!") is None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_never_raises(data: bytes) -> None:
    find_unknown(data)
    decoded_base64(data)
