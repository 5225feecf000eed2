"""The gate decides alone from facts: one case per rule, in the documented order."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from phonewarden.audit.policy import Vendor
from phonewarden.provisioning.gate import Device, Facts, Reason, Rules, decide, in_networks
from phonewarden.provisioning.identify import parse_path

MAC = "0015654c4c26"
UA = "Yealink SIP-T46S 66.86.0.15 00:15:65:4c:4c:26"
NOW = 1_800_000_000.0
RULES = Rules(networks=("10.20.0.0/16",), max_fetches=3, require_client_cert=True)
DEVICE = Device(MAC, Vendor.YEALINK, "T46S", "active", NOW - 60, NOW + 3600, 0, False, 1, 1, RULES)


def facts(**changes: Any) -> Facts:
    base = Facts("10.20.3.4", parse_path(f"/{MAC}.cfg"), UA, MAC, "missing", False, NOW)
    return replace(base, **changes)


def device(**changes: Any) -> Device:
    return replace(DEVICE, **changes)


def rules(**changes: Any) -> Device:
    return replace(DEVICE, rules=replace(RULES, **changes))


@pytest.mark.parametrize(
    ("the_facts", "the_device", "reason"),
    [
        (facts(), DEVICE, Reason.SERVED),
        (facts(banned=True), DEVICE, Reason.BANNED),
        (facts(requested=parse_path("/index.html")), DEVICE, Reason.UNKNOWN_PATH),
        (facts(source="192.0.2.9"), DEVICE, Reason.NETWORK),
        (facts(source="not-an-ip"), DEVICE, Reason.NETWORK),
        (facts(), None, Reason.UNKNOWN_MAC),
        (facts(requested=parse_path(f"/cfg{MAC}.xml")), DEVICE, Reason.VENDOR),
        (facts(cert_mac=None), DEVICE, Reason.NO_CERT),
        (facts(cert_mac="0015654c4c27"), DEVICE, Reason.CERT_MAC),
        (facts(cert_mac="0015654c4c27"), rules(require_client_cert=False), Reason.CERT_MAC),
        (facts(cert_mac=None), rules(require_client_cert=False), Reason.SERVED),
        (facts(user_agent="curl/8"), DEVICE, Reason.USER_AGENT),
        (facts(user_agent="Yealink SIP-T54W 96.86.0.1"), DEVICE, Reason.USER_AGENT),
        (facts(user_agent="Grandstream Model HW GXP2170 V1.1A SW 1.0.11.6"), DEVICE, Reason.USER_AGENT),
        (facts(user_agent="Yealink SIP-T46S 66.86.0.15 00:15:65:00:00:01"), DEVICE, Reason.USER_AGENT_MAC),
        (facts(user_agent="curl/8"), rules(require_user_agent=False), Reason.SERVED),
        (facts(), rules(require_digest=True), Reason.DIGEST_MISSING),
        (facts(digest="bad"), rules(require_digest=True), Reason.DIGEST_BAD),
        (facts(digest="ok"), rules(require_digest=True), Reason.SERVED),
        (facts(), device(wipe_pending=True, state="retired", window_until=NOW - 1), Reason.SERVED_WIPE),
        (facts(), device(state="retired"), Reason.RETIRED),
        (facts(), device(window_from=None), Reason.WINDOW_NOT_OPEN),
        (facts(), device(window_from=NOW + 1), Reason.WINDOW_NOT_OPEN),
        (facts(), device(window_until=NOW), Reason.WINDOW_CLOSED),
        (facts(), device(fetches=3), Reason.FETCH_LIMIT),
        (facts(), replace(rules(require_consent=True), config_version=2), Reason.CONSENT),
        (facts(), replace(rules(require_consent=True), config_version=2, approved_version=2), Reason.SERVED),
    ],
)
def test_each_rule(the_facts: Facts, the_device: Device | None, reason: Reason) -> None:
    verdict = decide(the_facts, the_device, RULES)
    assert verdict.reason is reason
    assert verdict.allowed == reason.value.startswith("served")
    assert verdict.counts_as_probe == (not verdict.allowed and reason is not Reason.BANNED)


def test_the_common_file_needs_only_the_network() -> None:
    common = facts(requested=parse_path("/y000000000028.cfg"), cert_mac=None, user_agent="")
    assert decide(common, None, RULES).reason is Reason.SERVED_COMMON
    assert decide(replace(common, source="192.0.2.1"), None, RULES).reason is Reason.NETWORK


def test_the_first_failing_rule_is_the_reason() -> None:
    everything_wrong = facts(source="192.0.2.9", cert_mac=None, user_agent="curl")
    assert decide(everything_wrong, device(fetches=99), RULES).reason is Reason.NETWORK


def test_networks() -> None:
    assert in_networks("::ffff:10.20.0.1", ("10.20.0.0/16",))
    assert in_networks("2001:db8::5", ("2001:db8::/64",))
    assert not in_networks("10.21.0.1", ("10.20.0.0/16",))
    assert in_networks("anything", ())
