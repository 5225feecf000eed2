"""What the probe's facts say about each rule that a network probe can decide."""

from __future__ import annotations

import ipaddress

from phonewarden.audit.checks_firmware import firmware_outdated, firmware_vulnerable
from phonewarden.audit.policy import Vendor, rule
from phonewarden.audit.probe import HostFacts
from phonewarden.audit.results import CheckResult, Status

Outcome = tuple[Status, str]
PROBE_CHECKS = (
    "default-admin-password",
    "sip-transport-not-tls",
    "web-ui-http",
    "firmware-vulnerable",
    "firmware-outdated",
    "direct-ip-calls-accepted",
    "telnet-ssh-enabled",
    "exposed-to-internet",
)


def check_host(facts: HostFacts, site: str | None = None) -> list[CheckResult]:
    if not facts.alive:
        return []
    fp = facts.fingerprint
    vendor = Vendor(fp.vendor) if fp.vendor in {v.value for v in Vendor} else None
    results = []
    for check in PROBE_CHECKS:
        r = rule(check)
        evidence: dict[str, object] = {}
        remediation = r.advice if check == "exposed-to-internet" else r.remediation(vendor)
        if check in ("firmware-vulnerable", "firmware-outdated"):
            judge = firmware_vulnerable if check == "firmware-vulnerable" else firmware_outdated
            status, detail, fix, evidence = judge(fp.vendor, fp.model, fp.firmware)
            remediation = fix or remediation
        else:
            status, detail = _DECIDERS[check](facts)
        results.append(
            CheckResult(
                time=facts.time,
                target=facts.host,
                check=check,
                status=status,
                severity=r.severity,
                detail=detail,
                remediation=remediation,
                vendor=fp.vendor,
                model=fp.model,
                firmware=fp.firmware,
                site=site,
                evidence=evidence,
            )
        )
    return results


def _login(facts: HostFacts) -> Outcome:
    login = facts.login
    if login is None:
        return Status.UNKNOWN, "no web UI answered, or the login check is off"
    if login.status in ("default-works", "no-password"):
        return Status.FAIL, login.detail
    if login.status == "default-refused":
        return Status.PASS, login.detail
    return Status.UNKNOWN, login.detail


def _transport(facts: HostFacts) -> Outcome:
    plain = sorted({f"{a.transport}/{a.port}" for a in facts.sip if a.transport != "tls"})
    tls = [a for a in facts.sip if a.transport == "tls"]
    cert = next((t for t in facts.tls if t.port == (tls[0].port if tls else -1)), None)
    cert_note = f"; certificate {cert.subject} issued by {cert.issuer}" if cert else ""
    problems = "; ".join(cert.problems()) if cert else ""
    if tls and not plain:
        return (Status.FAIL if problems else Status.PASS), f"SIP only over TLS{cert_note}" + (
            f"; {problems}" if problems else ""
        )
    if tls:
        return (
            Status.UNKNOWN,
            f"SIP over TLS answers, and plain SIP on {', '.join(plain)}{cert_note}: "
            "lint the config to see which one the account uses",
        )
    if plain:
        return Status.FAIL, f"SIP answers only in clear ({', '.join(plain)}); no SIP over TLS"
    return Status.UNKNOWN, "no SIP answer on any transport"


def _web(facts: HostFacts) -> Outcome:
    http, https = facts.ports.get(80, False), facts.ports.get(443, False)
    cert = next((t for t in facts.tls if t.port == 443), None)
    note = (
        f"; HTTPS certificate: {cert.subject} ({', '.join(cert.problems()) or 'no problems found'})"
        if cert
        else ""
    )
    if http and not facts.http_redirects_to_https:
        return Status.FAIL, f"web UI served over plain HTTP on port 80{note}"
    if http or https:
        return Status.PASS, ("port 80 redirects to HTTPS" if http else "web UI only on HTTPS") + note
    return Status.PASS, "no web UI reachable on 80 or 443"


def _direct(facts: HostFacts) -> Outcome:
    if facts.ghost_tried:
        if facts.ghost is None:
            return Status.PASS, "unsolicited INVITE from this non-registrar host got no answer"
        if facts.ghost.status < 300:
            return (
                Status.FAIL,
                f"unsolicited INVITE from this non-registrar host answered "
                f"{facts.ghost.status} {facts.ghost.reason} (cancelled)",
            )
        return Status.PASS, f"unsolicited INVITE refused with {facts.ghost.status} {facts.ghost.reason}"
    if facts.sip:
        return (
            Status.UNKNOWN,
            "answers OPTIONS from this non-registrar host (not proof: Yealink always does); "
            "run with --ghost-call",
        )
    return Status.UNKNOWN, "no SIP answer; the INVITE test was not run"


def _shell(facts: HostFacts) -> Outcome:
    shells = [f"{name} ({port})" for port, name in ((22, "ssh"), (23, "telnet")) if facts.ports.get(port)]
    others = [f"{name} ({port})" for port, name in ((7547, "cwmp"),) if facts.ports.get(port)]
    others += ["tftp (69/udp)"] if facts.tftp else []
    also = f"; other management services open: {', '.join(others)}" if others else ""
    if shells:
        return Status.FAIL, f"open: {', '.join(shells)}{also}"
    return Status.PASS, f"ports 22 and 23 closed{also}"


def _exposed(facts: HostFacts) -> Outcome:
    address = ipaddress.ip_address(facts.host)
    if address.is_global:
        return Status.FAIL, f"{facts.host} is a public address and answers"
    return (
        Status.UNKNOWN,
        f"{facts.host} is not public: probe the site's public address from outside to decide",
    )


_DECIDERS = {
    "default-admin-password": _login,
    "sip-transport-not-tls": _transport,
    "web-ui-http": _web,
    "direct-ip-calls-accepted": _direct,
    "telnet-ssh-enabled": _shell,
    "exposed-to-internet": _exposed,
}
