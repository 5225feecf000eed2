"""`phonewarden fraud ...` as a user runs it: replay (human and --json), restrictions, lift, accounts."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from phonewarden.cli import app
from phonewarden.fraud.cdr import Cdr
from phonewarden.fraud.pbx_auth import PbxTokens
from phonewarden.fraud.service import FraudService
from phonewarden.fraud.settings import FraudSettings
from phonewarden.output import decode_json_lines
from phonewarden.store.engine import make_engine
from phonewarden.store.migrate import upgrade

DATA = Path(__file__).resolve().parents[1] / "data" / "fraud"
RUNNER = CliRunner()


def test_replay_json_has_alerts_restriction_and_summary(clean_env: Path) -> None:
    result = RUNNER.invoke(
        app, ["fraud", "replay", str(DATA / "freeswitch.json"), str(DATA / "asterisk-18.csv"), "--json"]
    )
    assert result.exit_code == 0, result.output
    records = decode_json_lines(result.stdout.encode())
    summary = records[-1]
    assert summary["type"] == "summary" and summary["cdrs"] == 3 and summary["bad_rows"] == 1
    alerts = [r for r in records if r["type"] == "alert"]
    assert {a["account"] for a in alerts} == {"acme", "PJSIP/1002"}  # 1002 tried +882 (unanswered)
    assert all(
        set(a) >= {"time", "account", "detector", "reason", "severity", "estimated_cost"} for a in alerts
    )
    assert "asterisk-18.csv:3: time 'not a time'" in result.stderr


def test_replay_human_output_and_bad_format(clean_env: Path) -> None:
    result = RUNNER.invoke(app, ["fraud", "replay", str(DATA / "kamailio-acc.log")])
    assert result.exit_code == 0 and "summary:" in result.stdout
    bad = RUNNER.invoke(app, ["fraud", "replay", str(DATA / "README.md")])
    assert bad.exit_code == 2 and "README.md" in bad.stderr
    unknown = RUNNER.invoke(app, ["fraud", "replay", str(DATA / "generic.csv"), "--format", "cdr-xml"])
    assert unknown.exit_code == 2 and "unknown format 'cdr-xml'" in unknown.output


def test_restrictions_and_lift_from_the_store(clean_env: Path) -> None:
    url = f"sqlite:///{clean_env / 'var' / 'phonewarden.db'}"
    (clean_env / "var").mkdir()
    engine = make_engine(url)
    upgrade(engine)
    now = time.time()
    FraudService(FraudSettings(), engine).ingest(
        [Cdr(account="acme", destination="0088213456789", start=now - 400, end=now, billsec=360)]
    )
    engine.dispose()
    listed = RUNNER.invoke(app, ["fraud", "restrictions"])
    assert listed.exit_code == 0 and "acme" in listed.stdout
    assert RUNNER.invoke(app, ["fraud", "lift", "acme", "--by", "alice"]).exit_code == 0
    assert "acme" not in RUNNER.invoke(app, ["fraud", "restrictions"]).stdout
    again = RUNNER.invoke(app, ["fraud", "lift", "acme"])
    assert again.exit_code == 1 and "no active restriction" in again.stderr


def test_accounts_profile(clean_env: Path) -> None:
    result = RUNNER.invoke(app, ["fraud", "accounts", str(DATA / "freeswitch.csv")])
    assert result.exit_code == 0 and "acme" in result.stdout and "1002" in result.stdout


def test_pbx_token_prints_a_token_and_its_settings_entry(clean_env: Path) -> None:
    result = RUNNER.invoke(app, ["fraud", "pbx-token", "kamailio-1"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    token = lines[1]
    entry = tomllib.loads(lines[-1])["pbx_tokens"][0]
    settings = FraudSettings.model_validate({"pbx_tokens": [entry]})
    assert settings.pbx_tokens[0].name == "kamailio-1"
    assert PbxTokens(settings.pbx_tokens).check(token, "198.51.100.1").pbx == "kamailio-1"
    bad = RUNNER.invoke(app, ["fraud", "pbx-token", "x" * 65])
    assert bad.exit_code == 2 and "64 characters" in bad.output


def test_accounts_and_restrictions_from_the_store_as_json(clean_env: Path) -> None:
    (clean_env / "var").mkdir()
    engine = make_engine(f"sqlite:///{clean_env / 'var' / 'phonewarden.db'}")
    upgrade(engine)
    now = time.time()
    service = FraudService(FraudSettings(), engine)  # what a running serve stores
    service.ingest([
        Cdr(account="acme", destination="0088213456789", start=now - 400, end=now, billsec=360),
        Cdr(account="beta", destination="0305550012", start=now - 100, end=now - 40, billsec=60),
    ])  # fmt: skip
    service.flush_usage()
    engine.dispose()
    listed = RUNNER.invoke(app, ["fraud", "accounts", "--json"])
    assert listed.exit_code == 0, listed.output
    records = decode_json_lines(listed.stdout.encode())
    assert [(r["account"], r["calls"], r["level"]) for r in records] == [("acme", 1, 2), ("beta", 1, 0)]
    assert records[0]["cost"] == 30.0 and records[0]["warm"] is False
    human = RUNNER.invoke(app, ["fraud", "accounts"])
    assert "acme" in human.stdout and "as the running guard stored them" in human.stderr
    restrictions = decode_json_lines(RUNNER.invoke(app, ["fraud", "restrictions", "--json"]).stdout.encode())
    assert [(r["type"], r["account"], r["level"], r["actor"]) for r in restrictions] == [
        ("restriction", "acme", 2, "phonewarden")
    ]


def test_accounts_from_an_unmigrated_store_says_so(clean_env: Path) -> None:
    result = RUNNER.invoke(app, ["fraud", "accounts"])
    assert result.exit_code == 2 and "phonewarden db upgrade" in result.stderr


def test_lift_a_number_block_with_destination(clean_env: Path) -> None:
    url = f"sqlite:///{clean_env / 'var' / 'phonewarden.db'}"
    (clean_env / "var").mkdir()
    engine = make_engine(url)
    upgrade(engine)
    now = time.time()
    lure = "0018765550123"
    FraudService(FraudSettings(), engine).ingest(
        [
            Cdr(account=f"shop-{n}", destination=lure, start=now - 90, end=now - 60 + n, billsec=30)
            for n in range(4)
        ]
    )
    assert RUNNER.invoke(app, ["fraud", "lift", "*"]).exit_code == 1  # not an account: lifts no block
    done = RUNNER.invoke(app, ["fraud", "lift", "--destination", "+1 876 555-0123", "--by", "alice"])
    assert done.exit_code == 0 and "+18765550123: block lifted" in done.stdout
    assert not FraudService(FraudSettings(), engine).engine.book.destinations
    engine.dispose()
    again = RUNNER.invoke(app, ["fraud", "lift", "--destination", "+18765550123"])
    assert again.exit_code == 1 and "+18765550123: not blocked" in again.stderr
    bad = RUNNER.invoke(app, ["fraud", "lift", "--destination", "+1876x"])
    assert bad.exit_code == 2 and "E.164" in bad.output and "--destination" in bad.output
    both = RUNNER.invoke(app, ["fraud", "lift", "acme", "--destination", "+18765550123"])
    assert both.exit_code == 2 and "not both" in both.output
