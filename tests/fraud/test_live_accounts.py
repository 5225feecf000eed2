"""Live calls map to accounts by the configured rules: trunk network, From domain, PAI, a header, a field."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from phonewarden.core.records import Segment
from phonewarden.fraud.engine import FraudEngine
from phonewarden.fraud.live_accounts import MAX_ACCOUNT_LENGTH, LiveAccounts, header_account
from phonewarden.fraud.settings import FraudSettings, LiveAccountRule
from phonewarden.wire.sip import SipMessage, parse_sip
from phonewarden.wire.traffic import NetworkRecord

T0 = 1_767_571_200.0
INVITE = """INVITE sip:{number}@sbc.example.test SIP/2.0
Via: SIP/2.0/UDP {source}:5060;branch=z9hG4bK{n}
From: <sip:{caller}@{domain}>;tag=f{n}
To: <sip:{number}@sbc.example.test>
Call-ID: live-{n}
CSeq: 1 INVITE
{extra}Content-Length: 0

"""
OK = """SIP/2.0 200 OK
Via: SIP/2.0/UDP {source}:5060;branch=z9hG4bK{n}
From: <sip:{caller}@{domain}>;tag=f{n}
To: <sip:{number}@sbc.example.test>;tag=t{n}
Call-ID: live-{n}
CSeq: 1 INVITE
Content-Length: 0

"""


def _message(caller: str = "+4930123456", domain: str = "pbx.acme.test", extra: str = "") -> SipMessage:
    text = INVITE.format(
        n=1, number="0025261234567", source="203.0.113.9", caller=caller, domain=domain, extra=extra
    )
    return parse_sip(text.replace("\n", "\r\n").encode())


def _record(template: str, n: int, t: float, source: str, extra: str = "") -> NetworkRecord:  # type: ignore[type-arg]
    text = template.format(
        n=n, number="0025261234567", source=source, caller="+4930123456", domain="pbx.acme.test", extra=extra
    )
    raw = text.replace("\n", "\r\n").encode()
    return NetworkRecord("sip", Segment(t, "udp", source, 5060, "198.51.100.1", 5060, raw), parse_sip(raw))


RULES = [
    LiveAccountRule(source="203.0.113.0/28", account="trunk-acme"),  # type: ignore[arg-type]
    LiveAccountRule(from_host="pbx.beta.test", header="P-Asserted-Identity"),
    LiveAccountRule(header="X-Account"),
    LiveAccountRule(field="auth_username"),
]


@pytest.mark.parametrize(
    ("source", "domain", "extra", "expected"),
    [
        ("203.0.113.9", "pbx.acme.test", "", "trunk-acme"),  # the trunk's network
        (
            "203.0.113.99",
            "PBX.Beta.test",
            'P-Asserted-Identity: "Beta" <sip:beta-7@pbx.beta.test>\n',
            "beta-7",
        ),
        ("203.0.113.99", "pbx.beta.test", "", "+4930123456"),  # PAI missing: later rules, then From user
        ("203.0.113.99", "other.test", "X-Account: cust-42\n", "cust-42"),  # a bare header value
        ("203.0.113.99", "other.test", 'Proxy-Authorization: Digest username="u900", realm="r"\n', "u900"),
        ("not-an-address", "other.test", "", "+4930123456"),
    ],
)
def test_rules_in_order_then_from_user(source: str, domain: str, extra: str, expected: str) -> None:
    message = _message(domain=domain, extra=extra)
    assert LiveAccounts(RULES).account(message, source) == expected


def test_no_rules_is_the_from_user() -> None:
    assert LiveAccounts([]).account(_message(caller="alice"), "203.0.113.9") == "alice"


def test_mapped_trunk_calls_count_as_one_account_and_get_restricted() -> None:
    rule = {"source": "203.0.113.0/24", "account": "trunk-acme"}
    engine = FraudEngine(FraudSettings(concurrency_cap=2, live_accounts=[rule]))  # type: ignore[list-item]
    outputs = []
    for n in range(3):  # three callers behind one trunk: three From users, one customer
        outputs += engine.on_sip(_record(INVITE, n, T0 + n, "203.0.113.5"))
        outputs += engine.on_sip(_record(OK, n, T0 + n + 0.5, "203.0.113.5"))
    assert [o.account for o in outputs] == ["trunk-acme", "trunk-acme"]
    assert len(engine.live.open_calls("trunk-acme", T0 + 5)) == 3
    assert not engine.authorize("trunk-acme", "0025261234567", T0 + 20).allow
    assert engine.authorize("+4930123456", "0025261234567", T0 + 20).allow


def test_settings_name_what_is_wrong() -> None:
    with pytest.raises(ValidationError, match="exactly one of account, header, field"):
        FraudSettings(live_accounts=[{"source": "203.0.113.0/24", "account": "a", "header": "X-A"}])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="needs source or from_host"):
        FraudSettings(live_accounts=[{"account": "everyone"}])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="source"):
        FraudSettings(live_accounts=[{"source": "203.0.113.300/24", "account": "a"}])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="field"):
        FraudSettings(live_accounts=[{"field": "via_host"}])  # type: ignore[list-item]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_header_account_never_fails_and_is_bounded(value: str) -> None:
    found = header_account(value)
    assert isinstance(found, str) and len(found) <= MAX_ACCOUNT_LENGTH
