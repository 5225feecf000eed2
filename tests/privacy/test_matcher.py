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
def test_plain_value_found_anywhere_not_touching_a_digit(before: bytes, after: bytes) -> None:
    before, after = before.rstrip(b"0123456789"), after.lstrip(b"0123456789")
    hits = MATCHER.scan(before + b"262011234567890" + after)
    assert any(h.owner.device == "b" and h.owner.encoding == "plain" for h in hits)


SHORT = IdentifierMatcher(parse_inventory(
    [{"name": "c", "ip": "198.51.100.3", "cell_id": "2197693", "msisdn": "4711234"}], "t"))  # fmt: skip


def _plain(payload: bytes) -> set[str]:
    return {hit.owner.identifier for hit in SHORT.scan(payload) if hit.owner.encoding in ("plain", "url")}


def test_digits_inside_a_longer_number_are_not_the_identifier() -> None:
    assert _plain(b'{"order":"ORD-904711234567","ts":1732197693,"n":47112345,"c":21976931}') == set()
    assert _plain(b'{"cell":2197693,"to":"+4711234"}') == {"cell_id", "msisdn"}
    assert _plain(b"cell=2197693") == {"cell_id"}  # the end of the payload is a boundary
    assert _plain(b"to=%2B4711234&x") == {"msisdn"}
    assert _plain(b"to=004711234;") == {"msisdn"}  # the 00 international form
    assert _plain(b"to=1004711234;") == set()


def test_other_encodings_of_digits_keep_matching_inside_longer_runs() -> None:
    hex_cell = b"2197693".hex().encode()
    assert {(h.owner.identifier, h.owner.encoding) for h in SHORT.scan(b"99" + hex_cell + b"99")} == {
        ("cell_id", "hex")}  # fmt: skip


def test_random_luhn_numbers_do_not_match() -> None:
    rng = random.Random(3)
    text = " ".join(str(rng.randrange(10**14, 10**15)) for _ in range(20000)).encode()
    assert MATCHER.scan(text) == []


def test_empty_inventory_matches_nothing() -> None:
    assert IdentifierMatcher([]).scan(b"352099001761481") == []
