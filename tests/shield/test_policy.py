from __future__ import annotations

from phonewarden.shield.findings import Finding, Severity
from phonewarden.shield.policy import Policy
from phonewarden.shield.settings import ShieldSettings


def _finding(source: str, t: float, detector: str = "brute-force", severity: Severity = "high") -> Finding:
    return Finding(detector, source, t, "5 failed authentications", severity, {})


def test_first_ban_is_short_and_repeats_escalate_by_the_factor_up_to_the_cap() -> None:
    policy = Policy(ShieldSettings(ban_s=600, escalation_factor=4, max_ban_s=20_000))
    durations = []
    t = 0.0
    for _ in range(4):
        decision = policy.decide(_finding("198.51.100.7", t))
        assert decision.action == "ban"
        durations.append(decision.duration_s)
        t += decision.duration_s + 1
    assert durations == [600, 2400, 9600, 20_000]


def test_offences_decay_when_a_source_behaves() -> None:
    policy = Policy(ShieldSettings(ban_s=600, escalation_factor=4, decay_s=3600))
    first = policy.decide(_finding("198.51.100.7", 0.0))
    later = policy.decide(_finding("198.51.100.7", first.duration_s + 2 * 3600.0))
    assert later.duration_s == 600 and later.offences == 1


def test_a_banned_source_keeps_its_ban_and_collects_reasons() -> None:
    policy = Policy(ShieldSettings())
    policy.decide(_finding("198.51.100.7", 0.0))
    again = policy.decide(Finding("enumeration", "198.51.100.7", 5.0, "12 users", "high", {}))
    assert again.action == "extend" and len(again.reasons) == 2


def test_scanners_get_the_scanner_ban() -> None:
    policy = Policy(ShieldSettings(scanner_ban_s=3600))
    assert policy.decide(_finding("198.51.100.7", 0.0, "scanner")).duration_s == 3600


def test_never_block_networks_from_settings_and_allow() -> None:
    policy = Policy(ShieldSettings(never_block=["198.51.100.0/24"]), allowed=["2001:db8::/48"])
    assert policy.decide(_finding("198.51.100.7", 0.0)).action == "suppressed"
    assert policy.decide(_finding("2001:db8:0:1::/64", 0.0)).action == "suppressed"
    assert policy.decide(_finding("203.0.113.9", 0.0)).action == "ban"


def test_a_registered_source_is_trusted_for_its_registration() -> None:
    policy = Policy(ShieldSettings(trust_after_auth_s=900, registration_trust_max_s=3600))
    assert policy.note_success("198.51.100.20", 0.0, "registered 2001", 3600)
    decision = policy.decide(_finding("198.51.100.20", 3000.0, "flood", "medium"))
    assert decision.action == "suppressed" and "registered 2001" in decision.why
    assert policy.decide(_finding("198.51.100.20", 3601.0, "flood", "medium")).action == "ban"


def test_trust_does_not_cover_a_cracked_password_nor_a_suspect() -> None:
    policy = Policy(ShieldSettings())
    policy.note_success("198.51.100.20", 0.0, "authenticated alice")
    assert policy.decide(_finding("198.51.100.20", 1.0, severity="critical")).action == "ban"
    policy.decide(_finding("203.0.113.9", 0.0))
    assert not policy.note_success("203.0.113.9", 1.0, "authenticated 101")


def test_low_severity_is_reported_not_banned_and_dry_run_marks_decisions() -> None:
    assert Policy(ShieldSettings()).decide(_finding("203.0.113.9", 0.0, severity="low")).action == "report"
    decision = Policy(ShieldSettings(dry_run=True)).decide(_finding("203.0.113.9", 0.0))
    assert decision.action == "ban" and decision.dry_run and decision.to_json()["dry_run"] is True


def test_restored_bans_count_as_offences() -> None:
    policy = Policy(ShieldSettings(ban_s=600, escalation_factor=4))
    policy.restore("198.51.100.7", 2, 100.0, ["old"], 0.0)
    assert policy.decide(_finding("198.51.100.7", 50.0)).action == "extend"
    assert policy.decide(_finding("198.51.100.7", 200.0)).duration_s == 600 * 16


def test_set_allowed_replaces_the_store_networks_and_keeps_the_settings_ones() -> None:
    policy = Policy(ShieldSettings(never_block=["198.51.100.0/24"]), ["203.0.113.0/28"])
    assert policy.never_blocked("203.0.113.5") is not None
    policy.set_allowed(["2001:db8::/48"])
    assert policy.never_blocked("203.0.113.5") is None  # no longer in the store's list
    assert str(policy.never_blocked("2001:db8:0:1::/64")) == "2001:db8::/48"
    assert str(policy.never_blocked("198.51.100.7")) == "198.51.100.0/24"
