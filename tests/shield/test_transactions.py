from __future__ import annotations

from typing import Any

from hypothesis import given, settings
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
