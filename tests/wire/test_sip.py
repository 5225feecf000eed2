"""parse_sip / looks_like_sip / SipStreamFramer on a table of realistic and broken messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.wire import sip
from phonewarden.wire.sip import SipMessage, SipStreamFramer, looks_like_sip, parse_sip
from phonewarden.wire.sip_fields import JSON_FIELDS

DATA = Path(__file__).parent.parent / "data" / "sip"


def load(name: str) -> bytes:
    return (DATA / name).read_bytes()


# file -> expected fields (absent keys are not checked; None means "must be None")
CASES: dict[str, dict[str, object]] = {
    "register_digest.sip": {
        "method": "REGISTER", "call_id": "a84b4c76e66710@192.0.2.55", "cseq_number": 2,
        "from_display": "Alice", "from_user": "alice", "from_tag": "1928301774", "to_tag": None,
        "auth_username": "alice", "auth_realm": "pbx.example.com", "auth_uri": "sip:pbx.example.com",
        "auth_nonce": "dcd98b7102dd2f0e8b11d0f600bfb0c093", "auth_response_present": True,
        "expires": 3600, "contact_host": "192.0.2.55", "via_rport": "", "ruri_user": None,
        "ruri_host": "pbx.example.com", "user_agent": "Yealink SIP-T46S 66.86.0.15", "anomalies": (),
    },
    "unauthorized_401.sip": {
        "is_request": False, "status": 401, "reason": "Unauthorized", "method": "REGISTER",
        "challenge_realm": "pbx.example.com", "challenge_nonce": "4f1a2b3c", "to_tag": "as6151ad25",
        "via_rport": "5060", "via_received": "198.51.100.7", "server": "Asterisk PBX 20.5.0",
        "auth_username": None, "anomalies": (),
    },
    "invite_sdp_two_vias.sip": {
        "method": "INVITE", "via_count": 2, "via_host": "2001:db8::10", "via_port": 5061,
        "via_transport": "TCP", "via_branch": "z9hG4bKnashds8", "from_display": 'Bob "The Builder"',
        "from_user": "bob@home", "contact_host": "2001:db8::10", "ruri_user": "+4930123456",
        "content_type": "application/sdp", "content_length": 140, "max_forwards": 69, "anomalies": (),
    },
    "ok_200.sip": {"status": 200, "reason": "OK", "method": "INVITE", "to_tag": "314159", "anomalies": ()},
    "bye.sip": {"method": "BYE", "cseq_number": 314160, "cseq_method": "BYE", "anomalies": ()},
    "lf_only.sip": {"method": "OPTIONS", "call_id": "lf-only-1", "anomalies": ("lf-only",)},
    "folded.sip": {"call_id": "folded-1", "anomalies": ("folded-header",)},
    "latin1_display.sip": {"method": "MESSAGE", "from_display": "Jürgen Müller", "anomalies": ("bad-utf8",)},
    "tel_uri.sip": {
        "ruri_user": "+1-201-555-0123", "ruri_host": None, "from_user": "+12015550100",
        "to_user": "+1-201-555-0123", "anomalies": (),
    },
    "unterminated_to.sip": {"to_user": "100", "to_host": "192.0.2.10", "call_id": "unterminated-1"},
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_realistic_messages(name: str) -> None:
    data = load(name)
    message = parse_sip(data)
    assert looks_like_sip(data)
    for field, expected in CASES[name].items():
        assert getattr(message, field) == expected, field
    json.dumps(message.to_json(), ensure_ascii=False).encode("utf-8")  # JSON-safe, also as UTF-8


def test_invite_body_and_header_values() -> None:
    message = parse_sip(load("invite_sdp_two_vias.sip"))
    assert message.body.startswith(b"v=0\r\n") and len(message.body) == 140
    assert message.header_values("Via")[1] == "SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK4b43c2ff8.1"
    assert message.header("v") == message.header("VIA") == message.header_values("via")[0]
    assert message.to_json()["body"] == message.body.decode()


def test_header_values_splits_lists_but_not_quotes() -> None:
    message = parse_sip(
        b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=1, SIP/2.0/TCP b;branch=2\r\n"
        b'Contact: "Smith, J" <sip:j@h;x=a,b>, <sip:k@h>\r\nSubject: a, b\r\n'
        b'Authorization: Digest username="a,b", realm="r"\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\n\r\n'
    )
    assert message.header_values("via") == ["SIP/2.0/UDP a;branch=1", "SIP/2.0/TCP b;branch=2"]
    assert message.via_count == 2 and message.via_branch == "1"
    assert message.header_values("m") == ['"Smith, J" <sip:j@h;x=a,b>', "<sip:k@h>"]
    assert message.contact_user == "j"
    assert message.header_values("subject") == ["a, b"]
    assert message.auth_username == "a,b"


def test_sipvicious_compact_form_expanded() -> None:
    message = parse_sip(load("sipvicious_svmap_compact_0.sip"))
    assert [name for name, _ in message.headers][:5] == ["via", "to", "from", "call-id", "contact"]
    assert message.method == "OPTIONS"
    assert message.call_id and message.call_id.isdigit()
    assert message.from_display == "sipvicious" and message.via_branch.startswith("z9hG4bK-")  # type: ignore[union-attr]
    assert message.anomalies == ()


@pytest.mark.parametrize("path", sorted(DATA.glob("sipvicious_*.sip")), ids=lambda p: p.name)
def test_captured_sipvicious_traffic(path: Path) -> None:
    message = parse_sip(path.read_bytes())
    assert message.method in ("OPTIONS", "REGISTER", "INVITE")
    assert message.call_id is not None and message.call_id.isdigit()
    assert message.via_rport == "" and message.via_branch is not None
    if "compact" not in path.name:  # svmap's compact mode leaves out User-Agent
        assert message.user_agent == "friendly-scanner"


VALID_HEAD = b"OPTIONS sip:a SIP/2.0\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\n"


@pytest.mark.parametrize(
    ("data", "flag"),
    [
        (VALID_HEAD + b"Content-Length: 10\r\n\r\nabc", "body-truncated"),
        (VALID_HEAD + b"Content-Length: 1\r\n\r\nabc", "trailing-bytes"),
        (VALID_HEAD + b"Content-Length: x\r\n\r\n", "bad-content-length"),
        (VALID_HEAD, "missing-blank-line"),
        (b"OPTIONS sip:a SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n", "missing-call-id"),
        (b"OPTIONS sip:a SIP/2.0\r\nCall-ID: 1\r\n\r\n", "missing-cseq"),
        (VALID_HEAD + b"i: 2\r\n\r\n", "duplicate-header-call-id"),
        (b"Call-ID: 1\r\nCSeq: 1 OPTIONS\r\n\r\n", "no-start-line"),
        (b"HELLO THERE\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\n\r\n", "bad-start-line"),
        (b"SIP/2.0 2000 OK\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\n\r\n", "bad-start-line"),
        (VALID_HEAD + b"garbage line\r\n\r\n", "bad-header-line"),
        (b"OPTIONS sip:a SIP/2.0\r\nCall-ID: 1\nCSeq: 1 OPTIONS\r\n\r\n", "mixed-line-ends"),
        (b"\r\n\r\nOPTIONS sip:a SIP/2.0\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\n\r\n", "leading-blank-lines"),
        (VALID_HEAD + b"X: " + b"a" * 70000 + b"\r\n\r\n", "oversize"),
    ],
)  # fmt: skip
def test_anomaly_flags(data: bytes, flag: str) -> None:
    assert flag in parse_sip(data).anomalies


def test_clean_message_has_no_flags_and_body_is_cut() -> None:
    message = parse_sip(b"MESSAGE sip:a SIP/2.0\r\nCall-ID: 1\r\nCSeq: 1 MESSAGE\r\nl: 2\r\n\r\nhi")
    assert message.anomalies == () and message.body == b"hi"
    trailing = parse_sip(b"MESSAGE sip:a SIP/2.0\r\nCall-ID: 1\r\nCSeq: 1 MESSAGE\r\nl: 2\r\n\r\nhi!!")
    assert trailing.body == b"hi" and trailing.raw.endswith(b"!!")


def test_non_utf8_is_lossless_and_json_safe() -> None:
    data = (
        b'OPTIONS sip:a SIP/2.0\r\nFrom: "\xff\xfe" <sip:x@y>\r\nCall-ID: \xe9\r\nCSeq: 1 OPTIONS\r\n\r\n\xff'
    )
    message = parse_sip(data)
    assert message.from_display is not None and message.from_display.encode("latin-1") == b"\xff\xfe"
    record = message.to_json()
    assert record["body_base64"] == "/w=="
    json.dumps(record, ensure_ascii=False).encode("utf-8")


def test_response_method_and_status() -> None:
    message = parse_sip(b"SIP/2.0 486 Busy Here\r\nCall-ID: 1\r\nCSeq: 7 INVITE\r\n\r\n")
    assert (message.is_request, message.status, message.reason, message.method) == (
        False,
        486,
        "Busy Here",
        "INVITE",
    )
    assert parse_sip(b"Call-ID: 1\r\nCSeq: 7 INVITE\r\n\r\n").method is None  # neither request nor response


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"INVITE sip:a@b SIP/2.0\r\n", True),
        (b"SIP/2.0 100 Trying\r\n", True),
        (b"X-CUSTOM sip:a SIP/2.0\n", True),
        (b"SIP/2.0 099 Nope\r\n", False),
        (b"GET / HTTP/1.1\r\n", False),
        (b"\r\n\r\n", False),
        (b"\x00\x01HEP3", False),
        (b"INVITE  sip:a SIP/2.0\r\n", False),
        (b"", False),
    ],
)
def test_looks_like_sip(data: bytes, expected: bool) -> None:
    assert looks_like_sip(data) is expected


def test_json_omits_none_and_carries_anomalies() -> None:
    record = parse_sip(load("lf_only.sip")).to_json()
    assert record["anomalies"] == ["lf-only"] and "status" not in record and "user_agent" not in record
    assert record["method"] == "OPTIONS" and ["call-id", "lf-only-1"] in record["headers"]  # type: ignore[operator]


# --- TCP framing ------------------------------------------------------------------------------


def test_framer_splits_a_chunk_with_several_messages_and_keepalive() -> None:
    framer = SipStreamFramer()
    messages = framer.feed(load("tcp_three_messages.sip"))
    assert [parse_sip(m).method for m in messages] == ["INVITE", "INVITE", "BYE"]
    assert [parse_sip(m).status for m in messages] == [None, 200, None]
    assert all(parse_sip(m).anomalies == () for m in messages)
    assert framer.keepalives == 1 and not framer.anomalies


def test_framer_reassembles_byte_by_byte() -> None:
    stream = load("tcp_three_messages.sip")
    framer = SipStreamFramer()
    messages = [m for i in range(len(stream)) for m in framer.feed(stream[i : i + 1])]
    assert messages == SipStreamFramer().feed(stream)
    assert len(messages) == 3 and messages[0] == load("invite_sdp_two_vias.sip")


def test_framer_resyncs_after_garbage_and_counts() -> None:
    framer = SipStreamFramer()
    bye = load("bye.sip")
    assert framer.feed(b"\x16\x03\x01 junk\r\nmore junk\r\n" + bye) == [bye]
    assert framer.anomalies["garbage"] == 1


def test_framer_missing_content_length_means_empty_body() -> None:
    framer = SipStreamFramer()
    out = framer.feed(b"OPTIONS sip:a SIP/2.0\r\nCall-ID: 1\r\n\r\nOPTIONS sip:b SIP/2.0\r\nl: 0\r\n\r\n")
    assert [parse_sip(m).request_uri for m in out] == ["sip:a", "sip:b"]
    assert framer.anomalies["missing-content-length"] == 1


def test_framer_overflow_resyncs_and_stays_bounded() -> None:
    framer = SipStreamFramer(max_buffer=1024)
    assert framer.feed(b"INVITE sip:a SIP/2.0\r\nX: " + b"a" * 5000) == []
    assert framer.anomalies["overflow"] == 1 and len(framer._buffer) <= 8192
    huge = b"INVITE sip:a SIP/2.0\r\nContent-Length: 999999\r\n\r\n"
    bye = load("bye.sip")
    assert framer.feed(b"\r\n" + huge + b"x" * 100 + b"\r\n" + bye) == [bye]
    assert framer.anomalies["oversize"] == 1


def test_framer_waits_for_body() -> None:
    framer = SipStreamFramer()
    invite = load("invite_sdp_two_vias.sip")
    assert framer.feed(invite[:-10]) == []
    assert framer.feed(invite[-10:]) == [invite]


# --- fuzzing ----------------------------------------------------------------------------------

SEEDS = [load(name) for name in sorted(CASES)] + [load("sipvicious_svmap_compact_0.sip")]


def read_every_field(message: SipMessage) -> None:
    for name in JSON_FIELDS:
        getattr(message, name)
    message.header_values("via")
    message.header_values("contact")
    json.dumps(message.to_json(), ensure_ascii=False).encode("utf-8")


@st.composite
def mutated_messages(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        pos = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        chunk = draw(st.sampled_from([b"\r\n", b"\n", b" ", b":", b"<", b'"', b",", b";", b"\xff", b"\x00"]))
        if action == "insert":
            data[pos:pos] = chunk
        elif action == "delete":
            del data[pos : pos + draw(st.integers(1, 20))]
        else:
            data[pos : pos + len(chunk)] = chunk
    return bytes(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes_never_raise(data: bytes) -> None:
    message = parse_sip(data)
    assert "parser-error" not in message.anomalies
    read_every_field(message)
    looks_like_sip(data)


@settings(max_examples=300, deadline=None)
@given(mutated_messages())
def test_fuzz_mutated_messages_never_raise(data: bytes) -> None:
    message = parse_sip(data)
    assert "parser-error" not in message.anomalies
    read_every_field(message)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(mutated_messages(), st.binary(max_size=300)), max_size=6), st.data())
def test_fuzz_framer_never_raises_and_stays_bounded(parts: list[bytes], data: st.DataObject) -> None:
    framer = SipStreamFramer(max_buffer=4096)
    stream = b"".join(parts)
    pos = 0
    while pos < len(stream):
        step = data.draw(st.integers(1, 600))
        for message in framer.feed(stream[pos : pos + step]):
            assert looks_like_sip(message)
        pos += step
        assert len(framer._buffer) <= 4096 + 8192 + 600


@settings(max_examples=300, deadline=None)
@given(st.one_of(mutated_messages(), st.binary(max_size=600)))
def test_fast_path_equals_general_path(data: bytes) -> None:
    """The one-scan path for plain CRLF heads must decide exactly as the general path would."""
    fast = parse_sip(data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sip, "_LINE_EVENT", re.compile(rb"(?!)"))
        general = parse_sip(data)
    assert fast.to_json() == general.to_json()
    assert (fast.raw, fast.body, fast.anomalies) == (general.raw, general.body, general.anomalies)


@settings(max_examples=300, deadline=None)
@given(mutated_messages())
def test_to_json_equals_properties(data: bytes) -> None:
    """to_json computes all fields in one pass; each must be what its property returns."""
    record = parse_sip(data).to_json()
    message = parse_sip(data)
    assert {name: record.get(name) for name in JSON_FIELDS} == {
        name: getattr(message, name) for name in JSON_FIELDS
    }
