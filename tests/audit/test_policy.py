from __future__ import annotations

import pytest

from phonewarden.audit.policy import Setting, Vendor, render_setting, rule, rules


def test_render_in_each_vendor_syntax() -> None:
    assert (
        render_setting(Vendor.YEALINK, Setting("account.{n}.srtp_encryption", "2"), 3)
        == "account.3.srtp_encryption = 2"
    )
    assert (
        render_setting(Vendor.SNOM, Setting("user_srtp{n}", "on"), 2)
        == '<user_srtp idx="2" perm="R">on</user_srtp>'
    )
    assert render_setting(Vendor.GRANDSTREAM, Setting("P2347", "1")) == "<P2347>1</P2347>"
    assert render_setting(Vendor.GRANDSTREAM, Setting("users.admin.password", "x")).startswith(
        '<item name="users.admin'
    )
    assert render_setting(Vendor.POLY, Setting("sec.srtp.require", "1")) == 'sec.srtp.require="1"'
    assert render_setting(Vendor.FANVIL, Setting("A.B.Transport", "3")) == "<Transport>3</Transport>"


def test_setting_passes_case_insensitively_and_accepts_alternatives() -> None:
    setting = Setting("P194", "2", accepted=("1", "3"))
    assert setting.passes(" 3 ") and setting.passes("2") and not setting.passes("0")
    assert Setting("x", "TLS").passes("tls")


def test_remediation_flags_unverified_values_and_falls_back_to_advice() -> None:
    assert "verify on one phone first" in rule("sip-transport-not-tls").remediation(Vendor.GRANDSTREAM)
    assert (
        rule("sip-transport-not-tls").remediation(Vendor.YEALINK)
        == "set account.1.sip_server.1.transport_type = 2"
    )
    assert "private network" in rule("exposed-to-internet").remediation(Vendor.SNOM)


def test_unknown_rule_lists_known_ids() -> None:
    with pytest.raises(KeyError, match="known: default-admin-password"):
        rule("no-such-rule")
    assert len(rules()) == 19


def test_rule_record_has_the_fix_per_vendor_and_the_probe() -> None:
    from phonewarden.audit.policy import rules

    for r in rules():
        record = r.to_json()
        assert record["id"] == r.id and record["severity"] == r.severity.value
        assert set(record["fix"]) == {vendor.value for vendor in r.settings}
        assert record["probe"] == r.probe
