"""What the CLI and the console call: lint files, probe addresses, store the results."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from phonewarden.audit.checks_config import check_config
from phonewarden.audit.configs import ConfigError, read_config
from phonewarden.audit.models import AuditCheck, AuditRun
from phonewarden.audit.probe import HostFacts, probe_all
from phonewarden.audit.probe_checks import check_host
from phonewarden.audit.probe_web import LoginLedger
from phonewarden.audit.results import CheckResult, Status, Summary
from phonewarden.audit.settings import AuditSettings
from phonewarden.store.engine import session_factory

# In a directory, only files that can be phone configs are read: firmware images and ringtones are not.
CONFIG_SUFFIXES = {".cfg", ".xml", ".htm", ".boot", ".txt", ""}
LEDGER_FILE = "audit-login-attempts.json"


@dataclass
class Outcome:
    results: list[CheckResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    hosts: list[HostFacts] = field(default_factory=list)

    def summary(self) -> Summary:
        latest = max((r.time for r in self.results), default=time.time())
        return Summary(latest, tuple(self.results), tuple(self.errors))


def config_files(paths: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """Files named, and candidate config files under named directories (sorted); errors for missing paths."""
    files, errors = [], []
    for path in paths:
        if path.is_dir():
            files += sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in CONFIG_SUFFIXES
            )
        elif path.is_file():
            files.append(path)
        else:
            errors.append(f"{path}: no such file or directory")
    return files, errors


def lint(paths: Iterable[Path], site: str | None = None) -> Outcome:
    files, errors = config_files(paths)
    outcome = Outcome(errors=errors)
    for path in files:
        try:
            config = read_config(path)
        except ConfigError as exc:
            outcome.errors.append(str(exc))
            continue
        outcome.results += check_config(config, path.stat().st_mtime, site)
    return outcome


def probe(targets: list[str], settings: AuditSettings, data_dir: Path | None) -> Outcome:
    """Probe the named targets; TargetError (from probe) for a bad target before anything is sent."""
    ledger = LoginLedger(settings.login_holdoff_seconds, data_dir / LEDGER_FILE if data_dir else None)
    hosts = asyncio.run(probe_all(targets, settings, ledger))
    outcome = Outcome(hosts=hosts)
    for facts in hosts:
        outcome.results += check_host(facts, settings.site)
    return outcome


def store(engine: Engine, kind: str, site: str, outcome: Outcome) -> int:
    """Save one run and its checks; returns the run id."""
    with session_factory(engine)() as session, session.begin():
        run = AuditRun(
            kind=kind,
            site=site,
            targets=len({r.target for r in outcome.results}),
            failed=sum(r.status is Status.FAIL for r in outcome.results),
            errors=list(outcome.errors),
        )
        run.checks = [
            AuditCheck(
                time=datetime.fromtimestamp(r.time, UTC),
                target=r.target,
                vendor=r.vendor,
                model=r.model,
                firmware=r.firmware,
                check=r.check,
                status=r.status.value,
                severity=r.severity.value,
                detail=r.detail,
                remediation=r.remediation,
                evidence=dict(r.evidence),
            )
            for r in outcome.results
        ]
        session.add(run)
        session.flush()
        return run.id
