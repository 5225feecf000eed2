"""`phonewarden demo`: a sample data set so a fresh console shows something real.

The console fills findings and emergency locations; each installed guard that ships `demo.py` fills its
own part with `load(engine, rng, now) -> str` (one line for the operator). Sample addresses come from
the documentation ranges (RFC 5737), sample numbers are fictional, and times lie in the last 24 hours.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from sqlalchemy import Engine

from phonewarden.guards import GUARDS, import_guard_module
from phonewarden.settings import Settings
from phonewarden.store.engine import make_engine, session_factory
from phonewarden.store.findings import add_finding
from phonewarden.store.migrate import upgrade
from phonewarden.store.models import Guard, Severity

# Background findings for the overview's chart; fraud's come from fraud/demo.py, which raises real alerts.
KINDS = {
    Guard.SHIELD: [("scan", "SIPVicious OPTIONS scan"), ("bruteforce", "REGISTER password guessing")],
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


def _loaders() -> dict[str, Callable[[Engine, random.Random, datetime], str]]:
    """The console's own sample, then `phonewarden.<guard>.demo.load` of each installed guard."""
    from phonewarden.console import locations

    loaders: dict[str, Callable[[Engine, random.Random, datetime], str]] = {
        "findings": _findings,
        "locations": locations.load,
    }
    for guard in GUARDS:
        module = import_guard_module(guard, "demo")
        if module is not None:
            loaders[guard] = module.load
    return loaders


def load_demo(engine: Engine, seed: int = 8) -> list[str]:
    """Run every loader whose guard is installed; returns one line per loader for the operator."""
    rng, now = random.Random(seed), datetime.now(UTC)
    return [f"{part}: {loader(engine, rng, now)}" for part, loader in _loaders().items()]


def demo(
    ctx: typer.Context, seed: Annotated[int, typer.Option(help="Random seed of the sample")] = 8
) -> None:
    """Load a sample data set (findings, bans, audit, privacy, locations …) for the console's pages."""
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    for line in load_demo(engine, seed):
        typer.echo(line)
    engine.dispose()
    typer.echo("Open the console (`phonewarden serve`) and log in to see them.")
