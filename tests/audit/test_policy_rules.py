from __future__ import annotations

from phonewarden.audit.policy_rules import CHECK_IDS, RULES

ISSUE_IDS = [
    "default-admin-password", "weak-admin-password", "default-user-password", "sip-transport-not-tls",
    "srtp-not-required", "web-ui-http", "bluetooth-enabled", "wifi-enabled-unused", "usb-enabled",
    "auto-update-disabled", "firmware-vulnerable", "firmware-outdated", "direct-ip-calls-accepted",
    "phone-lock-disabled", "provisioning-over-http", "provisioning-credentials-in-url", "telnet-ssh-enabled",
    "exposed-to-internet", "weak-sip-password",
]  # fmt: skip


def test_every_check_id_of_the_issue_exactly_once() -> None:
    assert sorted(CHECK_IDS) == sorted(ISSUE_IDS)


def test_every_rule_explains_itself_and_maps_to_standards() -> None:
    for r in RULES:
        assert r.title and r.why.endswith(".") and r.standards, r.id
    mapped = {r.id for r in RULES if r.telekom}
    assert {
        "default-admin-password",
        "bluetooth-enabled",
        "auto-update-disabled",
        "srtp-not-required",
        "exposed-to-internet",
        "usb-enabled",
        "phone-lock-disabled",
    } <= mapped


def test_every_rule_with_settings_has_no_duplicate_keys_per_vendor() -> None:
    for r in RULES:
        for vendor, settings in r.settings.items():
            keys = [s.key for s in settings]
            assert len(keys) == len(set(keys)), (r.id, vendor)
