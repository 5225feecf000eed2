"""Rendered configs pass the audit guard: the same policy, checked by `phonewarden audit config`."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from phonewarden.audit import policy_rules, service
from phonewarden.audit.policy import Rule, Setting, Vendor
from phonewarden.audit.results import Status
from phonewarden.cli import app
from phonewarden.provisioning import render
from phonewarden.provisioning.secrets_box import Secret, generate_password, generate_pin

SECRET_RULES = render.ADMIN_RULES | render.USER_RULES


def target(vendor: Vendor, model: str, lines: int = 2) -> render.Target:
    accounts = tuple(
        render.Line(n, f"20{n:02d}", f"Desk {n}", generate_password()) for n in range(1, lines + 1)
    )
    return render.Target(
        "0015654c4c26",
        vendor,
        model,
        accounts,
        generate_password(),
        generate_password(),
        generate_pin(),
        "pbx.example.test",
        5061,
        "https://prov.example.test:8443",
    )


def audit(path: Path) -> dict[str, Status]:
    outcome = service.lint([path])
    assert not outcome.errors, outcome.errors
    return {r.check: r.status for r in outcome.results}


@pytest.mark.parametrize(
    ("vendor", "model", "name"),
    [
        (Vendor.YEALINK, "T46S", "0015654c4c26.cfg"),
        (Vendor.SNOM, "D785", "0015654c4c26.xml"),
        (Vendor.GRANDSTREAM, "GXP2170", "cfg0015654c4c26.xml"),
    ],
)
@pytest.mark.parametrize("wipe", [False, True])
def test_every_rendered_device_file_passes_the_audit(
    tmp_path: Path, vendor: Vendor, model: str, name: str, wipe: bool
) -> None:
    path = tmp_path / name
    path.write_text(render.render_device(target(vendor, model), wipe=wipe))
    statuses = audit(path)
    assert [check for check, status in statuses.items() if status is Status.FAIL] == []
    # Every rule with a key for this vendor is decided "pass"; wipe leaves no SIP line to judge.
    keyed = {r.id for r in policy_rules.RULES if r.settings_for(vendor)} - {"exposed-to-internet"}
    line_rules = {"weak-sip-password", "sip-transport-not-tls", "srtp-not-required"} if wipe else set()
    passing = {check for check, status in statuses.items() if status is Status.PASS}
    assert keyed - line_rules - passing == set()


def test_secrets_are_per_device_and_present_in_the_file() -> None:
    first, second = target(Vendor.YEALINK, "T46S"), target(Vendor.YEALINK, "T46S")
    text_a, text_b = render.render_device(first), render.render_device(second)
    assert first.admin_password.reveal() in text_a and first.lines[0].password.reveal() in text_a
    assert first.admin_password.reveal() not in text_b


def test_yealink_common_file_has_no_secret_and_fails_only_the_per_device_password_rules(
    tmp_path: Path,
) -> None:
    t = target(Vendor.YEALINK, "T46S")
    text = render.yealink_common(t)
    for secret in (t.admin_password, t.user_password, t.lines[0].password):
        assert secret.reveal() not in text
    path = tmp_path / "y000000000000.cfg"
    path.write_text(text)
    failing = {check for check, status in audit(path).items() if status is Status.FAIL}
    assert failing == SECRET_RULES - {"weak-admin-password"}


def test_wipe_removes_the_sip_credentials() -> None:
    t = target(Vendor.SNOM, "D785")
    text = render.render_device(t, wipe=True)
    assert all(line.password.reveal() not in text for line in t.lines)
    assert "<user_pass" in text and 'perm="R"></user_pass>' in text


def test_a_policy_placeholder_the_renderer_does_not_know_stops_rendering(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    odd = Rule(
        "new-rule",
        "t",
        policy_rules.RULES[0].severity,
        "w",
        "",
        (),
        {Vendor.YEALINK: (Setting("static.new.key", "<vlan id>"),)},
    )
    monkeypatch.setattr(policy_rules, "RULES", (*policy_rules.RULES, odd))
    with pytest.raises(render.RenderError, match=r"new-rule.*<vlan id>"):
        render.render_device(target(Vendor.YEALINK, "T46S"))


def test_rendered_lines_follow_the_policy_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Change a safe value in the policy: the rendered config changes with it (no copied values)."""
    changed = tuple(
        replace(r, settings={**r.settings, Vendor.YEALINK: (Setting("account.{n}.srtp_encryption", "7"),)})
        if r.id == "srtp-not-required"
        else r
        for r in policy_rules.RULES
    )
    monkeypatch.setattr(policy_rules, "RULES", changed)
    assert "account.1.srtp_encryption = 7" in render.render_device(target(Vendor.YEALINK, "T46S"))


def test_unrendered_vendor_is_a_clear_error() -> None:
    with pytest.raises(render.RenderError, match="poly"):
        render.render_device(replace(target(Vendor.YEALINK, "T46S"), vendor=Vendor.POLY))


def test_audit_cli_passes_the_rendered_directory(tmp_path: Path) -> None:
    for vendor, model, name in [(Vendor.YEALINK, "T46S", "a.cfg"), (Vendor.SNOM, "D785", "b.xml")]:
        (tmp_path / name).write_text(render.render_device(target(vendor, model)))
    result = CliRunner().invoke(app, ["audit", "config", str(tmp_path), "--json"])
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["type"] == "summary" and summary["targets"] == 2 and summary["fail"] == 0


def test_secret_repr_never_shows_the_value() -> None:
    secret = Secret("hunter2-very-secret")
    assert "hunter2" not in repr(secret) and "hunter2" not in f"{secret}"
