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
