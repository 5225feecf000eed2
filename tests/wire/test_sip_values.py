"""Value parsers behind SipMessage's lazy fields: URIs, name-addr, Via, Digest, lists."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.wire import sip_values
from phonewarden.wire.sip_values import (
    parse_auth,
    parse_name_addr,
    parse_uri,
    parse_via,
    split_host_port,
    split_list,
    to_int,
)


@pytest.mark.parametrize(
    ("text", "scheme", "user", "host", "port"),
    [
        ("sip:alice@example.com", "sip", "alice", "example.com", None),
        ("SIPS:bob:secret@[2001:db8::1]:5061;transport=tls", "sips", "bob", "2001:db8::1", 5061),
        ("sip:%2B49%2030@gw;user=phone?subject=x", "sip", "+49 30", "gw", None),
        ("sip:+1;npdi@host", "sip", "+1;npdi", "host", None),
        ("sip:192.0.2.1:5060", "sip", None, "192.0.2.1", 5060),
        ("tel:+1-201-555-0123;phone-context=x", "tel", "+1-201-555-0123", None, None),
        ("http://x", "http", None, None, None),
        ("*", None, None, None, None),
        ("sip:user@host:99999999999", "sip", "user", "host", None),
    ],
)
def test_parse_uri(
    text: str, scheme: str | None, user: str | None, host: str | None, port: int | None
) -> None:
    uri = parse_uri(text)
    assert (uri.scheme, uri.user, uri.host, uri.port) == (scheme, user, host, port)


def test_parse_name_addr_forms() -> None:
    quoted = parse_name_addr('"A \\"B\\" <C>" <sip:a@h;lr>;tag=x;expires=60')
    assert (quoted.display, quoted.uri.user, quoted.uri.params, quoted.params) == (
        'A "B" <C>', "a", {"lr": ""}, {"tag": "x", "expires": "60"},
    )  # fmt: skip
    token = parse_name_addr("Alice Smith <sip:a@h>")
    assert (token.display, token.uri.host) == ("Alice Smith", "h")
    bare = parse_name_addr("sip:a@h;tag=1")  # RFC 3261 §20: params of a bare URI belong to the header
    assert (bare.uri.host, bare.params) == ("h", {"tag": "1"})
    broken = parse_name_addr("<<sip:100@192.0.2.10")
    assert (broken.uri.user, broken.uri.host) == ("100", "192.0.2.10")
    unterminated = parse_name_addr('"never closed <sip:a@h>')
    assert unterminated.display == "never closed <sip:a@h>" and unterminated.uri.host is None


def test_parse_via() -> None:
    via = parse_via("SIP/2.0/TLS [2001:db8::1]:5061;branch=z9hG4bK1;rport=4000;received=2001:db8::2")
    assert (via.transport, via.host, via.port) == ("TLS", "2001:db8::1", 5061)
    assert via.params == {"branch": "z9hG4bK1", "rport": "4000", "received": "2001:db8::2"}
    assert parse_via("garbage").host is None


def test_parse_auth_quoted_commas_and_escapes() -> None:
    scheme, params = parse_auth('Digest username="a,b", realm="r\\"q", nonce=abc, response="", qop=auth')
    assert scheme == "Digest"
    assert params == {"username": "a,b", "realm": 'r"q', "nonce": "abc", "response": "", "qop": "auth"}
    assert parse_auth('username="x"') == (None, {"username": "x"})


def test_split_list_and_helpers() -> None:
    assert split_list('"a,b" <sip:x,y>, <sip:z> ,, ') == ['"a,b" <sip:x,y>', "<sip:z>"]
    assert split_host_port("[::1") == ("::1", None)
    assert split_host_port("fe80::1") == ("fe80::1", None)  # bare IPv6, not host:port
    assert [to_int(s) for s in ("42", " 7 ", "²", "-1", "1" * 11, None)] == [42, 7, None, None, None, None]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from('sip:tel@<>";,=\\[]%2F a1\x00\udcff'), max_size=80))
def test_fuzz_value_parsers_never_raise(text: str) -> None:
    parse_uri(text)
    parse_name_addr(text)
    parse_via(text)
    parse_auth(text)
    split_list(text)


# The regex fast paths for plain URIs and name-addrs must give what the general code gives.
URI_PARTS = st.tuples(
    st.sampled_from(["", '"Alice" ', '"A\\"B"', "Bob Smith ", '""', ' "é" ', 'a"b ', "\xa0"]),
    st.sampled_from(["<", "<<", ""]),
    st.sampled_from(
        ["sip:", "SIPS:", "tel:", "ſip:", "sip:+1;npdi@", "sip:u:pw@", "sip:@", "sip:%41@", "sip:a@b@"]
    ),
    st.sampled_from(["host", "1.2.3.4", "[::1]", "h ", "h%20", "Host.Example"]),
    st.sampled_from(["", ":5060", ":", ":99999999999", ":1234567890", ": 5", ":x"]),
    st.sampled_from(["", ";lr", ";transport=tcp;lr", ";", "?x=1", ";a=b?c", ";a b"]),
    st.sampled_from([">", "", "> ", ">junk", ">;tag=1", "> ;tag=1;expires=60", '>;tag="q"', ">;;"]),
).map("".join)


@settings(max_examples=500, deadline=None)
@given(URI_PARTS)
def test_fast_paths_match_general_code(text: str) -> None:
    fast = (parse_uri(text), parse_name_addr(text))
    never = re.compile(r"(?!)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sip_values, "_PLAIN_SIP_URI", never)
        patch.setattr(sip_values, "_PLAIN_NAME_ADDR", never)
        assert fast == (parse_uri(text), parse_name_addr(text))
