from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from phonewarden.shield.transactions import TransactionMatcher
from phonewarden.wire.sip import parse_sip
from tests.shield.records import request, response


def _ask(matcher: TransactionMatcher, key: str, record: Any, now: float) -> None:
    matcher.request(key, record.body, now, record.body.call_id, record.body.cseq_number)


def test_a_wrong_password_is_a_failed_authentication() -> None:
    matcher = TransactionMatcher(100)
    _ask(matcher, "198.51.100.7", request("198.51.100.7", 1.0, auth=True), 1.0)
    outcome = matcher.response(response("198.51.100.7", 1.1, 401).body, 1.1)
    assert outcome is not None and outcome.failed_auth and outcome.user == "alice"


def test_a_first_challenge_and_a_stale_nonce_are_not_failures() -> None:
    matcher = TransactionMatcher(100)
    _ask(matcher, "a", request("198.51.100.7", 1.0), 1.0)
    first = matcher.response(response("198.51.100.7", 1.1, 401).body, 1.1)
    _ask(matcher, "a", request("198.51.100.7", 2.0, auth=True, cseq=2), 2.0)
    stale = matcher.response(response("198.51.100.7", 2.1, 401, cseq=2, stale=True).body, 2.1)
    assert first is not None and not first.failed_auth
    assert stale is not None and stale.stale and not stale.failed_auth


def test_registration_success_carries_its_lifetime() -> None:
    matcher = TransactionMatcher(100)
    _ask(matcher, "a", request("198.51.100.7", 1.0, auth=True), 1.0)
    outcome = matcher.response(response("198.51.100.7", 1.1, 200, expires=1800).body, 1.1)
    assert outcome is not None and outcome.succeeded and outcome.expires == 1800


def test_responses_after_timer_b_or_never_asked_are_unmatched() -> None:
    matcher = TransactionMatcher(100)
    _ask(matcher, "a", request("198.51.100.7", 1.0), 1.0)
    assert matcher.response(response("198.51.100.7", 40.0, 404).body, 40.0) is None
    assert matcher.response(response("198.51.100.7", 41.0, 404, call_id="other").body, 41.0) is None
    assert matcher.unmatched == 2


def test_pending_requests_are_bounded() -> None:
    matcher = TransactionMatcher(100)
    for n in range(1000):
        _ask(matcher, "a", request("198.51.100.7", 1.0, call_id=f"c{n}"), 1.0)
    assert len(matcher.pending) == 100 and matcher.pending.evictions == 900


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.booleans())
def test_any_bytes_never_break_the_matcher(data: bytes, as_response: bool) -> None:
    matcher = TransactionMatcher(10)
    head = b"SIP/2.0 401 Unauthorized\r\n" if as_response else b"REGISTER sip:x SIP/2.0\r\n"
    message = parse_sip(head + data)
    if message.status is None:
        if message.is_request:
            matcher.request("a", message, 1.0, message.call_id, message.cseq_number)
    else:
        matcher.response(message, 1.0)


_URI_PART = st.text(alphabet='sSiIpP:@;<>"%?=. \\tabc019[]', max_size=30)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        _URI_PART,
        st.builds(lambda d, u, h, p: f"{d}<sip:{u}@{h}>{p}", _URI_PART, _URI_PART, _URI_PART, _URI_PART),
    )
)
@example('"100"<sip:100@1.1.1.1>;tag=1')
@example("sip:100@host;user=phone")
@example("Bob <SIPS:alice@[2001:db8::1]>")
def test_the_plain_user_shortcut_agrees_with_the_kernel_parser(value: str) -> None:
    from phonewarden.shield.transactions import plain_user
    from phonewarden.wire.sip_values import parse_name_addr, parse_uri

    user = plain_user(value)
    if isinstance(user, str):  # the shortcut answered: it must be what the parsers say
        assert user == parse_name_addr(value).uri.user
        if "<" not in value:
            assert user == parse_uri(value).user


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='Digestusrnam="\\, \t:x1', max_size=60))
@example('Digest username="alice", realm="x"')
@example('digest  username = "a\\"b", realm="x"')
@example('Digest username="alice"x, realm="x"')
def test_the_digest_username_shortcut_agrees_with_the_kernel_parser(value: str) -> None:
    from phonewarden.shield.transactions import digest_username

    raw = f"REGISTER sip:x SIP/2.0\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\nAuthorization: {value}\r\n\r\n"
    message = parse_sip(raw.encode())
    assert digest_username(message) == message.auth_username
