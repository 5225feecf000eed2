"""Attack chain: a shield finding in the store raises the severity of the account's next alert."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from phonewarden.cli import app
from phonewarden.fraud.findings import shield_findings
from phonewarden.output import decode_json_lines
from phonewarden.store.engine import make_engine
from phonewarden.store.findings import add_finding
from phonewarden.store.migrate import upgrade
from phonewarden.store.models import Guard, Severity

FOUND = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)


def _store(folder: Path) -> str:
    url = f"sqlite:///{folder / 'pw.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        add_finding(
            session,
            time=FOUND,
            guard=Guard.SHIELD,
            kind="bruteforce",
            subject="acme",
            severity=Severity.HIGH,
            reason="52 failed REGISTERs for acme from 203.0.113.9",
        )
        add_finding(
            session,
            time=FOUND,
            guard=Guard.PRIVACY,
            kind="leak",
            subject="acme",
            severity=Severity.LOW,
            reason="not the shield",
        )
    assert [f.subject for f in shield_findings(engine)] == ["acme"]
    engine.dispose()
    return url


def test_replay_with_findings_raises_severity(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHONEWARDEN_DATABASE_URL", _store(clean_env))
    cdrs = clean_env / "cdrs.jsonl"
    cdrs.write_text(
        '{"account": "acme", "destination": "0088213456789", "end": "2026-03-02T11:20:00Z", '
        '"billsec": 60}\n{"account": "other", "destination": "0088213456789", '
        '"end": "2026-03-02T11:21:00Z", "billsec": 60}\n'
    )
    plain = decode_json_lines(
        CliRunner().invoke(app, ["fraud", "replay", str(cdrs), "--json"]).stdout.encode()
    )
    chained = decode_json_lines(
        CliRunner().invoke(app, ["fraud", "replay", str(cdrs), "--json", "--findings"]).stdout.encode()
    )

    def severities(records: list[dict[str, object]]) -> dict[object, object]:
        return {r["account"]: r["severity"] for r in records if r["type"] == "alert"}

    assert severities(plain) == {"acme": "medium", "other": "medium"}
    assert severities(chained) == {"acme": "high", "other": "medium"}
    assert any("after shield finding on acme: bruteforce" in str(r.get("reason")) for r in chained)


CAPTURES = Path(__file__).resolve().parents[1] / "data" / "captures"


def _store_shield_replay(capture: Path, url: str) -> list[dict[str, object]]:
    """`phonewarden shield replay --json`, each finding stored the way the running shield stores it."""
    from phonewarden.shield.findings import Finding as ShieldFinding
    from phonewarden.shield.live import LiveShield

    result = CliRunner().invoke(app, ["shield", "replay", str(capture), "--json"])
    assert result.exit_code == 0, result.output
    found = [r for r in decode_json_lines(result.stdout.encode()) if r["type"] == "finding"]
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        for r in found:
            when = datetime.fromisoformat(str(r["time"]).replace("Z", "+00:00")).timestamp()
            finding = ShieldFinding(
                str(r["detector"]),
                str(r["source"]),
                when,
                str(r["reason"]),
                r["severity"],
                r["evidence"],
            )
            LiveShield._add(session, finding)
    engine.dispose()
    return found


def test_shield_replay_of_a_password_guess_chains_to_the_guessed_user(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIPVicious guesses user 101's password from 127.0.0.1; the shield stores the finding under the
    address, the user only in its evidence. Fraud alerts on account 101 (or its channel) must chain."""
    url = f"sqlite:///{clean_env / 'pw.db'}"
    found = _store_shield_replay(CAPTURES / "sip-scan-sipvicious.pcapng", url)
    guessed = [r for r in found if r["detector"] == "brute-force" and r["severity"] == "critical"]
    assert guessed and guessed[0]["source"] == "127.0.0.1"
    assert guessed[0]["evidence"]["user"] == "101"  # type: ignore[index]
    monkeypatch.setenv("PHONEWARDEN_DATABASE_URL", url)
    lines = []
    for account in ("101", "PJSIP/101", "other"):  # 4 parallel 30-minute calls to Somalia each
        for channel in range(4):
            lines.append(
                f'{{"account": "{account}", "destination": "002526123456{channel}", '
                f'"end": "2026-11-25T15:40:0{channel}Z", "billsec": 1800}}\n'
            )
    cdrs = clean_env / "cdrs.jsonl"
    cdrs.write_text("".join(lines))
    result = CliRunner().invoke(app, ["fraud", "replay", str(cdrs), "--json", "--findings"])
    assert result.exit_code == 0, result.output
    records = decode_json_lines(result.stdout.encode())
    levels = {r["account"]: r["level"] for r in records if r["type"] == "restriction"}
    assert levels == {"101": 3, "PJSIP/101": 3, "other": 2}
    chained = [r for r in records if r["type"] == "alert" and r.get("chained")]
    assert {r["account"] for r in chained} == {"101", "PJSIP/101"}
    assert all(
        "after shield finding on 101: brute-force: authentication succeeded" in str(r["reason"])
        for r in chained
    )
    # Without the findings nothing is chained: level 2 for everyone.
    plain = CliRunner().invoke(app, ["fraud", "replay", str(cdrs), "--json"])
    plain_levels = {
        r["level"] for r in decode_json_lines(plain.stdout.encode()) if r["type"] == "restriction"
    }
    assert plain_levels == {2}


def test_findings_link_to_evidence_users_and_rule_accounts() -> None:
    from ipaddress import IPv4Network

    from phonewarden.fraud.findings import linked
    from phonewarden.fraud.settings import LiveAccountRule

    rules = [
        LiveAccountRule(source=IPv4Network("203.0.113.0/28"), account="acme"),
        LiveAccountRule(source=IPv4Network("198.51.100.0/24"), account="beta"),
        LiveAccountRule(header="X-Account"),
    ]
    found = linked(
        1.0, "203.0.113.9", "brute-force: guessed", {"user": "1001", "users": ["1001", "1002"]}, rules
    )
    assert [(f.subject, f.reason) for f in found] == [
        ("203.0.113.9", "brute-force: guessed"),
        ("1001", "brute-force: guessed (from 203.0.113.9)"),
        ("1002", "brute-force: guessed (from 203.0.113.9)"),
        ("acme", "brute-force: guessed (from 203.0.113.9)"),
    ]
    assert [f.subject for f in linked(1.0, "acme", "r", {"samples": ["x"]}, rules)] == ["acme"]
    assert [f.subject for f in linked(1.0, "2001:db8::/64", "r", None, rules)] == ["2001:db8::/64"]
