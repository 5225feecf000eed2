from __future__ import annotations

from phonewarden.audit.fingerprint import Fingerprint
from phonewarden.audit.probe import HostFacts
from phonewarden.audit.probe_checks import PROBE_CHECKS, check_host
from phonewarden.audit.probe_net import TlsFacts
from phonewarden.audit.probe_sip import SipAnswer
from phonewarden.audit.probe_web import LoginResult
from phonewarden.audit.results import Status

PORTS = {22: False, 23: False, 80: True, 443: False, 7547: False}


def _answer(transport: str, port: int, status: int = 200) -> SipAnswer:
    return SipAnswer(transport, port, status, "OK", "Yealink SIP-T46S 66.84.0.20", None, "12345678", None)


def _statuses(facts: HostFacts) -> dict[str, Status]:
    return {r.check: r.status for r in check_host(facts)}


def test_dead_host_gives_no_checks() -> None:
    assert check_host(HostFacts("198.51.100.7", 0.0, ports=dict.fromkeys(PORTS, False))) == []


def test_plain_sip_http_and_default_login() -> None:
    facts = HostFacts(
        "198.51.100.10",
        0.0,
        sip=[_answer("udp", 5060)],
        ports=dict(PORTS),
        fingerprint=Fingerprint("yealink", "T46S", "66.84.0.20"),
        login=LoginResult("default-works", "admin/admin accepted", 1),
    )
    found = _statuses(facts)
    assert list(found) == list(PROBE_CHECKS)
    assert found["sip-transport-not-tls"] is Status.FAIL
    assert found["web-ui-http"] is Status.FAIL
    assert found["default-admin-password"] is Status.FAIL
    assert found["firmware-vulnerable"] is Status.FAIL
    assert found["direct-ip-calls-accepted"] is Status.UNKNOWN  # OPTIONS answers prove nothing
    assert found["exposed-to-internet"] is Status.UNKNOWN


def test_tls_only_with_a_bad_certificate_fails() -> None:
    cert = TlsFacts(
        5061, "TLSv1", "phone", "phone", True, "2020-01-01T00:00:00+00:00", True, "RSA-1024", "sha1"
    )
    facts = HostFacts(
        "198.51.100.11", 0.0, sip=[_answer("tls", 5061)], tls=[cert], ports=dict.fromkeys(PORTS, False)
    )
    result = next(r for r in check_host(facts) if r.check == "sip-transport-not-tls")
    assert result.status is Status.FAIL
    assert "expired" in result.detail and "TLSv1" in result.detail and "RSA-1024" in result.detail


def test_ghost_call_outcomes_and_public_address() -> None:
    base = {"sip": [_answer("udp", 5060)], "ports": dict(PORTS), "ghost_tried": True}
    assert (
        _statuses(HostFacts("198.51.100.10", 0.0, ghost=_answer("udp", 5060, 180), **base))[  # type: ignore[arg-type]
            "direct-ip-calls-accepted"
        ]
        is Status.FAIL
    )
    assert (
        _statuses(HostFacts("198.51.100.10", 0.0, ghost=_answer("udp", 5060, 403), **base))[  # type: ignore[arg-type]
            "direct-ip-calls-accepted"
        ]
        is Status.PASS
    )
    assert _statuses(HostFacts("85.214.20.30", 0.0, **base))["exposed-to-internet"] is Status.FAIL  # type: ignore[arg-type]
