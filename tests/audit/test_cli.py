from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from phonewarden.cli import app
from phonewarden.output import decode_json_lines
from tests.audit.conftest import DATA

runner = CliRunner()


def test_config_json_records_then_summary_and_exit_status(clean_env: Path) -> None:
    result = runner.invoke(app, ["audit", "config", str(DATA / "yealink" / "hardened.cfg"), "--json"])
    records = decode_json_lines(result.stdout_bytes)
    assert result.exit_code == 0, result.output
    assert [r["type"] for r in records] == ["check"] * 19 + ["summary"]
    assert records[-1]["fail"] == 0
    assert {
        "target",
        "vendor",
        "model",
        "firmware",
        "check",
        "status",
        "severity",
        "detail",
        "remediation",
    } <= set(records[0])


def test_failing_checks_exit_1_unreadable_inputs_exit_2(clean_env: Path) -> None:
    failing = runner.invoke(app, ["audit", "config", str(DATA / "yealink" / "insecure.cfg")])
    assert failing.exit_code == 1 and "default-admin-password" in failing.stdout
    mixed = runner.invoke(app, ["audit", "config", str(DATA / "yealink"), str(DATA / "unknown"), "--json"])
    assert mixed.exit_code == 2
    assert "notes.txt: not a config of a known vendor" in mixed.stderr
    assert decode_json_lines(mixed.stdout_bytes)[-1]["targets"] == 2  # the readable files were still audited


def test_html_and_store(clean_env: Path) -> None:
    unmigrated = runner.invoke(app, ["audit", "config", str(DATA / "snom"), "--store"])
    assert unmigrated.exit_code == 2 and "phonewarden db upgrade" in unmigrated.stderr
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(
        app, ["audit", "config", str(DATA / "snom"), "--html", "r.html", "--store", "--site", "hq"]
    )
    assert result.exit_code == 1 and "stored as audit run 1" in result.stdout
    assert "Endpoint audit — hq" in (clean_env / "r.html").read_text()


def test_probe_refuses_a_bad_target_before_sending(clean_env: Path) -> None:
    result = runner.invoke(app, ["audit", "probe", "phones.example"])
    assert result.exit_code == 2 and "not an IP address or CIDR" in result.stderr


def test_rules_lists_the_policy(clean_env: Path) -> None:
    result = runner.invoke(app, ["audit", "rules", "--json"])
    rules = decode_json_lines(result.stdout_bytes)
    assert len(rules) == 19 and rules[0]["fix"]["yealink"].startswith("set static.security.user_password")
