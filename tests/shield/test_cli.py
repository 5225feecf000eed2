from __future__ import annotations

import subprocess
from pathlib import Path

from typer.testing import CliRunner

from phonewarden.cli import app
from phonewarden.output import decode_json_lines
from tests.conftest import DATA, REPO

runner = CliRunner()
SCAN = DATA / "captures" / "sip-scan-sipvicious.pcapng"
# Kamailio siptrace HEPv3 of the SIPVicious lab (tools/captures/make_captures.sh hep-sip-scan-sipvicious):
# a phone registers alice from 127.0.0.20; svmap .31, svwar REGISTER .32, svwar INVITE .33, svcrack .34.
HEP_SCAN = DATA / "captures" / "hep-sip-scan-sipvicious.pcapng"
HEP_ATTACKERS = ["127.0.0.31", "127.0.0.32", "127.0.0.33", "127.0.0.34"]


def test_replay_json_writes_findings_a_ban_and_a_summary(clean_env: Path) -> None:
    result = subprocess.run(
        [str(REPO / ".venv" / "bin" / "phonewarden"), "shield", "replay", str(SCAN), "--json"],
        capture_output=True, check=False, timeout=60, cwd=clean_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    records = decode_json_lines(result.stdout)
    assert [r["type"] for r in records].count("summary") == 1 and records[-1]["type"] == "summary"
    bans = [r for r in records if r["type"] == "ban"]
    assert [(b["source"], b["duration_s"]) for b in bans] == [("127.0.0.1", 3600)]
    findings = [r for r in records if r["type"] == "finding"]
    assert {"detector", "source", "reason", "severity", "evidence", "time"} <= set(findings[0])
    assert all(r["time"].endswith("Z") and r["time"].startswith("2026-") for r in records)


def test_replay_of_a_hep_capture_of_an_attack_finds_and_bans_each_tool(clean_env: Path) -> None:
    result = subprocess.run(
        [str(REPO / ".venv" / "bin" / "phonewarden"), "shield", "replay", str(HEP_SCAN), "--json"],
        capture_output=True, check=False, timeout=60, cwd=clean_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    records = decode_json_lines(result.stdout)
    summary = records[-1]
    # one SIP message per HEP packet, as tshark with the HEP dissector counts them in the capture's own file
    hep_rows = (HEP_SCAN.parent / f"{HEP_SCAN.name}.hep.tsv").read_text().splitlines()
    assert summary["type"] == "summary" and summary["sip_messages"] == len(hep_rows) > 100
    assert summary["banned"] == HEP_ATTACKERS and summary["suppressed"] == {}
    bans = [(r["source"], r["duration_s"]) for r in records if r["type"] == "ban"]
    assert bans == [(address, 3600) for address in HEP_ATTACKERS]  # scanners first: scanner_ban_s
    findings: dict[str, list[tuple[str, str]]] = {}
    for r in records:
        if r["type"] == "finding":
            findings.setdefault(r["source"], []).append((r["detector"], r["severity"]))
    assert "127.0.0.20" not in findings  # the phone
    assert findings["127.0.0.31"] == [("scanner", "high")]
    assert ("enumeration", "high") in findings["127.0.0.32"]
    assert ("enumeration", "high") in findings["127.0.0.33"]  # INVITEs to unknown extensions: 404
    assert ("brute-force", "critical") in findings["127.0.0.34"]
    guessed = [r for r in records if r["type"] == "finding" and r["severity"] == "critical"]
    assert [r["evidence"]["user"] for r in guessed] == ["101"] and "guessed" in guessed[0]["reason"]
    svmap = next(r for r in records if r["type"] == "finding" and r["source"] == "127.0.0.31")
    assert {"branch-cookie-hyphen-decimal", "display-sipvicious"} <= set(svmap["evidence"]["fingerprints"])


def test_replay_human_table_and_dry_run_from_config(clean_env: Path) -> None:
    (clean_env / "phonewarden.toml").write_text("[shield]\ndry_run = true\n")
    result = runner.invoke(app, ["shield", "replay", str(SCAN)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "would ban" in result.output and "scanner fingerprint" in result.output
    assert "1 sources banned: 127.0.0.1" in result.output


def test_replay_of_a_non_capture_fails_clearly(clean_env: Path) -> None:
    bad = clean_env / "notes.txt"
    bad.write_text("hello")
    result = runner.invoke(app, ["shield", "replay", str(bad)])
    assert result.exit_code == 2 and "not a pcap or pcapng file" in result.output


def test_bans_unban_and_allow_against_the_store(clean_env: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    from phonewarden.settings import load_settings
    from phonewarden.shield.bans import BanStore
    from phonewarden.store.engine import make_engine

    store = BanStore(make_engine(load_settings().database_url))
    store.save_ban("203.0.113.66", 600, ["brute-force: 5 failed authentications"], 1)
    store.save_ban("198.51.100.9", 600, ["scanner"], 1)
    listed = runner.invoke(app, ["shield", "bans"], env={"COLUMNS": "200"})
    assert "2 active bans" in listed.output and "brute-force: 5 failed" in listed.output
    as_json = decode_json_lines(runner.invoke(app, ["shield", "bans", "--json"]).stdout_bytes)
    assert {r["address"] for r in as_json} == {"203.0.113.66", "198.51.100.9"}
    unban = runner.invoke(app, ["shield", "unban", "203.0.113.66"])
    assert unban.exit_code == 0 and "unbanned 203.0.113.66" in unban.output
    allow = runner.invoke(app, ["shield", "allow", "198.51.100.0/24", "--note", "trunk"])
    assert allow.exit_code == 0 and "lifted bans: 198.51.100.9" in allow.output
    assert store.active_bans() == [] and store.allowed() == ["198.51.100.0/24"]


def test_bad_addresses_are_refused(clean_env: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    unban = runner.invoke(app, ["shield", "unban", "203.0.113.300"])
    assert unban.exit_code == 2 and "203.0.113.300" in unban.output
    allow = runner.invoke(app, ["shield", "allow", "nonsense"])
    assert allow.exit_code == 2 and "'nonsense' is not an IP network" in allow.output


def test_bans_before_migration_says_to_upgrade(clean_env: Path) -> None:
    result = runner.invoke(app, ["shield", "bans"])
    assert result.exit_code == 2 and "phonewarden db upgrade" in result.output


def test_replay_takes_config_after_the_command_as_the_issue_spells_it(clean_env: Path) -> None:
    config = clean_env / "lab.toml"
    config.write_text("[shield]\ndry_run = true\nscanner_ban_s = 120\n")
    result = subprocess.run(
        [str(REPO / ".venv" / "bin" / "phonewarden"), "shield", "replay", str(SCAN), "--json", "--config",
         str(config)],
        capture_output=True, check=False, timeout=60, cwd=clean_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    records = decode_json_lines(result.stdout)
    bans = [r for r in records if r["type"] == "ban"]  # the later reasons are in the summary, not extra lines
    assert [(b["source"], b["duration_s"], b.get("dry_run")) for b in bans] == [("127.0.0.1", 120, True)]
    summary = records[-1]
    assert summary["dry_run"] is True and len(summary["banned"]) == 1
    missing = runner.invoke(app, ["shield", "replay", str(SCAN), "--config", str(clean_env / "nope.toml")])
    assert missing.exit_code == 2 and "nope.toml does not exist" in missing.output


def test_uninstall_removes_the_enforcers_bans(clean_env: Path) -> None:
    nothing = runner.invoke(app, ["shield", "uninstall"])
    assert nothing.exit_code == 0 and "no enforcers configured" in nothing.output
    (clean_env / "phonewarden.toml").write_text('[shield]\nenforcers = ["dry-run"]\ndry_run = true\n')
    removed = runner.invoke(app, ["shield", "uninstall"])
    assert removed.exit_code == 0 and "removed the dry-run bans" in removed.output
    (clean_env / "phonewarden.toml").write_text(
        '[shield]\nenforcers = ["kamailio"]\nkamailio_rpc_url = "http://127.0.0.1:9/RPC"\n'
    )
    failed = runner.invoke(app, ["shield", "uninstall"])
    assert failed.exit_code == 2
    assert "kamailio: htable.flush at http://127.0.0.1:9/RPC failed" in failed.output
