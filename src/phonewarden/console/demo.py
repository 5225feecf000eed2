"""`phonewarden demo`: a sample data set so a fresh console shows something real.

Each loader fills one part that exists; a guard not installed is skipped. Sample addresses come from
the documentation ranges (RFC 5737), sample numbers are fictional, and times lie in the last 24 hours.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from sqlalchemy import Engine

from phonewarden.guards import import_guard_module
from phonewarden.settings import Settings
from phonewarden.store.engine import make_engine, session_factory
from phonewarden.store.findings import add_finding
from phonewarden.store.migrate import upgrade
from phonewarden.store.models import Guard, Severity

KINDS = {
    Guard.SHIELD: [("scan", "SIPVicious OPTIONS scan"), ("bruteforce", "REGISTER password guessing")],
    Guard.FRAUD: [
        ("toll_fraud", "calls to a premium-rate range"),
        ("cost_spike", "cost per hour above band"),
    ],
    Guard.PRIVACY: [("identifier_leak", "IMEI sent in clear text"), ("residency", "data left the EU")],
    Guard.AUDIT: [("default_password", "web admin password is the vendor default")],
}


def _findings(engine: Engine, rng: random.Random, now: datetime) -> str:
    with session_factory(engine).begin() as session:
        for index in range(400):
            guard = rng.choice(list(KINDS))
            kind, reason = rng.choice(KINDS[guard])
            # More findings in recent hours, so the chart has a shape.
            age = timedelta(hours=24 * rng.random() ** 1.5)
            add_finding(
                session, time=now - age, guard=guard, kind=kind, subject=f"198.51.100.{index % 200 + 1}",
                severity=rng.choice(list(Severity)), reason=reason, evidence={"demo": True},
            )  # fmt: skip
    return "400 findings"


def _bans(engine: Engine, rng: random.Random, now: datetime) -> str:
    from phonewarden.shield.bans import BanStore

    store = BanStore(engine)
    for index in range(12):
        reasons = [rng.choice(["scanner:sipvicious", "bruteforce:register", "flood:invite"])]
        store.save_ban(f"203.0.113.{index + 10}", 3600 * rng.randint(1, 24), reasons, rng.randint(1, 4))
    return "12 shield bans"


def _audit(engine: Engine, rng: random.Random, now: datetime) -> str:
    from phonewarden.audit.models import AuditCheck, AuditRun

    with session_factory(engine).begin() as session:
        run = AuditRun(kind="config", site="demo", targets=5, failed=3, errors=[])
        for index in range(5):
            status = "fail" if index < 3 else "pass"
            run.checks.append(
                AuditCheck(
                    time=now, target=f"phone-{index + 1}.cfg", vendor="yealink", model="T54W",
                    firmware="96.86.0.10",
                    check="web_default_password", status=status, severity="high",
                    detail="admin/admin accepted" if status == "fail" else "changed",
                    remediation="set static.security.user_password", evidence={},
                )
            )  # fmt: skip
        session.add(run)
    return "1 audit run, 3 failing devices"


LOADERS: dict[str, Callable[[Engine, random.Random, datetime], str]] = {
    "findings": _findings,
    "shield": _bans,
    "audit": _audit,
}


def load_demo(engine: Engine, seed: int = 8) -> list[str]:
    """Run every loader whose guard is installed; returns one line per loader for the operator."""
    rng, now, done = random.Random(seed), datetime.now(UTC), []
    for part, loader in LOADERS.items():
        if part != "findings" and import_guard_module(part, "models") is None:
            done.append(f"{part}: not installed, skipped")
            continue
        done.append(f"{part}: {loader(engine, rng, now)}")
    return done


def demo(
    ctx: typer.Context, seed: Annotated[int, typer.Option(help="Random seed of the sample")] = 8
) -> None:
    """Load a sample data set (findings, bans, audit results) so the console's pages show something."""
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    for line in load_demo(engine, seed):
        typer.echo(line)
    engine.dispose()
    typer.echo("Open the console (`phonewarden serve`) and log in to see them.")
