from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.privacy.inventory import parse_inventory
from phonewarden.privacy.matcher import IdentifierMatcher

DEVICES = parse_inventory(
    [{"name": "a", "ip": "198.51.100.1", "imei": "352099001761481", "mac": "4c:bc:98:12:34:56"},
     {"name": "b", "ip": "198.51.100.2", "imsi": "262011234567890"}], "t")  # fmt: skip
MATCHER = IdentifierMatcher(DEVICES)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.binary(max_size=200))
def test_plain_value_found_anywhere(before: bytes, after: bytes) -> None:
    hits = MATCHER.scan(before + b"262011234567890" + after)
    assert any(h.owner.device == "b" and h.owner.encoding == "plain" for h in hits)


def test_random_luhn_numbers_do_not_match() -> None:
    rng = random.Random(3)
    text = " ".join(str(rng.randrange(10**14, 10**15)) for _ in range(20000)).encode()
    assert MATCHER.scan(text) == []


def test_empty_inventory_matches_nothing() -> None:
    assert IdentifierMatcher([]).scan(b"352099001761481") == []
