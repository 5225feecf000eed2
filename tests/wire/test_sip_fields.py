"""Header lookup behind SipMessage: canonical names, the full header index and the targeted
first-line searches that answer single fields without building it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.wire.sip import parse_sip
from phonewarden.wire.sip_fields import canonical_name, split_headers

LOOKED_UP = [
    "call-id", "i", "cseq", "from", "f", "to", "t", "via", "v", "contact", "m", "user-agent", "server",
    "max-forwards",
    "content-type", "c", "content-length", "l", "expires", "authorization", "proxy-authorization",
    "www-authenticate", "proxy-authenticate",
]  # fmt: skip  # all with a targeted search; other names build the index


def test_canonical_name() -> None:
    assert [canonical_name(n) for n in ("i", " Call-ID ", "X-Foo", "V")] == [
        "call-id",
        "call-id",
        "x-foo",
        "via",
    ]


# Header lines built to hit the hazards of a regex lookup: case, compact forms, whitespace that
# str.strip() removes (incl. \x0b, \x1c, NBSP, NEL), non-ASCII case look-alikes (Kelvin sign,
# dotless i, long s), missing colons, empty values, line ends of every kind.
_NAME_PARTS = st.sampled_from(
    [" ", "\t", "\r", "\x0b", "\x1c", "\xa0", "\x85", "K", "k", "\u212a", "ı", "İ", "ſ", "-", "i", "I", "l",
     "v", "m", "x", "Call-ID", "CSeq", "User-Agent", "Via", "Server", "Content-Length", "From", "To",
     "Contact"]
)  # fmt: skip
_VALUE_PARTS = st.sampled_from(
    [" ", "\t", "\r", "\x0b", "\x1c", "\xa0", "\x85", "a", "1", ",", ";", "<", '"', "é"]
)
HEADER_LINE = st.tuples(
    st.lists(_NAME_PARTS, max_size=5).map("".join),
    st.sampled_from([":", " :", "", "\t:", ":\r"]),
    st.lists(_VALUE_PARTS, max_size=8).map("".join),
).map("".join)


@st.composite
def header_heavy_messages(draw: st.DrawFn) -> bytes:
    text = draw(st.sampled_from(["INVITE sip:a@b SIP/2.0", "SIP/2.0 200 OK", "Call-ID: 1", "", "X\r"]))
    for line in draw(st.lists(HEADER_LINE, max_size=8)):
        text += draw(st.sampled_from(["\r\n", "\n", "\r\n ", "\r\r\n"])) + line
    text += draw(st.sampled_from(["\r\n\r\n", "\n\n", "\r\n\n", ""])) + "body"
    return text.encode(draw(st.sampled_from(["utf-8", "latin-1"])), "replace")


@settings(max_examples=500, deadline=None)
@given(header_heavy_messages())
def test_targeted_lookup_equals_full_index(data: bytes) -> None:
    targeted = parse_sip(data)
    values = [targeted.header(name) for name in LOOKED_UP]
    assert targeted._index is None or not targeted._head.isascii()  # answered without the index
    indexed = parse_sip(data)
    indexed.headers  # noqa: B018  # builds the index
    assert values == [indexed.header(name) for name in LOOKED_UP]


@settings(max_examples=300, deadline=None)
@given(header_heavy_messages())
def test_split_headers_equals_per_line_partition(data: bytes) -> None:
    message = parse_sip(data)
    lines = message._head[message._head_start :].split("\n")
    expected = [
        (canonical_name(name), value.strip())
        for name, colon, value in (line.partition(":") for line in lines)
        if colon
    ]
    assert split_headers(message._head, message._head_start) == expected


@settings(max_examples=300, deadline=None)
@given(header_heavy_messages())
def test_call_id_and_cseq_fast_reads_equal_the_full_index(data: bytes) -> None:
    targeted = parse_sip(data)
    values = (targeted.call_id, targeted.cseq, targeted.cseq_number)
    both = parse_sip(data).call_id_and_cseq()
    indexed = parse_sip(data)
    indexed.headers  # noqa: B018  # builds the index
    assert values == (indexed.header("call-id"), indexed.header("cseq"), indexed.cseq_number)
    assert both == indexed.call_id_and_cseq() == values[:2]
