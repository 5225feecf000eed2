"""`phonewarden fraud ...`: replay CDRs (the backtest), list restrictions, lift one.

`replay FILE...` reads CDRs in file order (hang-up order), optionally with a SIP/HEP capture for live
calls (merged by event time), and prints `alert` and `restriction` records, then a `summary`.
"""

from __future__ import annotations

import getpass
import heapq
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from phonewarden.capture.replay import CaptureError, CaptureReplay
from phonewarden.core.records import iso_time
from phonewarden.fraud.cdr import CdrFormatError
from phonewarden.fraud.engine import FraudEngine
from phonewarden.fraud.findings import ShieldFinding, shield_findings
from phonewarden.fraud.pbx_auth import digest, new_token
from phonewarden.fraud.readers import FORMATS, ReadReport, read_cdrs
from phonewarden.fraud.records import Summary
from phonewarden.fraud.service import lift_in_store
from phonewarden.settings import Settings
from phonewarden.wire.traffic import TrafficDecoder

app = typer.Typer(help="Fraud guard: CDR replay/backtest, restrictions", no_args_is_help=True)
SEVERITY_COLOURS = {"critical": "red", "high": "magenta", "medium": "yellow", "low": "cyan", "info": "white"}


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.find_root().obj
    if not isinstance(settings, Settings):  # called without the root callback (tests)
        from phonewarden.settings import load_settings

        settings = load_settings()
    return settings


def _events(
    files: list[Path],
    capture: Path | None,
    engine: FraudEngine,
    report: ReadReport,
    fmt: str | None,
    findings: list[ShieldFinding],
) -> Iterator[tuple[float, int, Any]]:
    """CDRs (kind 1), SIP records (kind 0) and shield findings (kind -1) merged by event time."""
    settings = engine.settings
    cdrs = ((cdr.end, 1, cdr) for path in files for cdr in read_cdrs(path, settings, report, fmt))
    if capture is None and not findings:
        yield from cdrs  # one stream: merging would only add a heap step per CDR
        return
    streams: list[Iterator[tuple[float, int, Any]]] = [
        cdrs,
        iter([(finding.time, -1, finding) for finding in findings]),
    ]
    if capture is not None:
        decoder = TrafficDecoder()
        streams.append(
            (record.time, 0, record)
            for frame in CaptureReplay(capture, progress=False)
            for record in decoder.feed(frame)
            if record.type == "sip"
        )
    yield from heapq.merge(*streams, key=lambda event: (event[0], event[1]))


@app.command()
def replay(
    ctx: typer.Context,
    files: Annotated[
        list[Path] | None, typer.Argument(help="CDR files (Master.csv, cdr_csv, JSON, acc, ...)")
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help=f"one of {', '.join(FORMATS)}")] = None,
    capture: Annotated[Path | None, typer.Option(help="pcap/pcapng with SIP or HEP: live calls")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines records")] = False,
    with_findings: Annotated[
        bool, typer.Option("--findings", help="merge the shield's findings from the store (attack chain)")
    ] = False,
) -> None:
    """Replay CDRs through the detectors and policy; print alerts, restrictions and a summary."""
    if fmt is not None and fmt not in FORMATS:
        raise typer.BadParameter(
            f"unknown format {fmt!r}; known: {', '.join(FORMATS)}", param_hint="--format"
        )
    if not files and capture is None:
        raise typer.BadParameter("give CDR files, a --capture, or both", param_hint="FILES")
    settings = _settings(ctx)
    engine = FraudEngine(settings.fraud)
    findings: list[ShieldFinding] = []
    if with_findings:
        from phonewarden.store.engine import make_engine

        db = make_engine(settings.database_url)
        findings = list(shield_findings(db))
        db.dispose()
    report = ReadReport()
    console = Console(stderr=False, highlight=False)
    write = sys.stdout.buffer.write
    started = time.perf_counter()
    last = 0.0
    try:
        for when, kind, item in _events(files or [], capture, engine, report, fmt, findings):
            last = max(last, when)
            if kind < 0:
                engine.detector.note_shield_finding(item.subject, item.reason, when)
                continue
            outputs = engine.on_cdr(item) if kind else engine.on_sip(item)
            for output in outputs:
                _print(output, as_json, console, write)
        for output in engine.tick(last):
            _print(output, as_json, console, write)
    except (CdrFormatError, CaptureError) as exc:
        typer.secho(f"phonewarden fraud replay: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    for error in report.errors:
        typer.echo(f"bad row: {error}", err=True)
    summary = Summary(
        time=last,
        cdrs=report.cdrs,
        bad_rows=report.bad_rows,
        accounts=len(engine.detector.accounts),
        alerts=dict(engine.alert_counts),
        restrictions=engine.restrictions,
        estimated_cost=engine.detector.total_cost,
        seconds=time.perf_counter() - started,
    )
    _print(summary, as_json, console, write)


def _print(output: Any, as_json: bool, console: Console, write: Any) -> None:
    record = output.to_json()
    if as_json:
        import msgspec

        write(msgspec.json.encode(record) + b"\n")
        return
    kind = record["type"]
    if kind == "alert":
        colour = SEVERITY_COLOURS.get(record["severity"], "white")
        console.print(
            f"{record['time']} [{colour}]{record['severity']:8}[/] {record['account']} "
            f"{record['detector']}: {record['reason']}",
            markup=True,
        )
    elif kind == "restriction":
        console.print(
            f"{record['time']} [bold red]RESTRICT[/] {record['account']} level {record['level']} "
            f"until {record['until']}: {record['reason']}"
        )
    else:
        console.print(f"summary: {record}", markup=False)


@app.command()
def restrictions(ctx: typer.Context) -> None:
    """Active restrictions in the store (written by the running guard)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from phonewarden.fraud.models import FraudRestriction
    from phonewarden.store.engine import make_engine

    db = make_engine(_settings(ctx).database_url)
    table = Table("account", "destination", "level", "until", "actor", "reason")
    with Session(db) as session:
        rows = session.scalars(select(FraudRestriction).where(FraudRestriction.lifted_at.is_(None)))
        for row in rows:
            if row.until.timestamp() > time.time():
                table.add_row(
                    row.account,
                    row.destination,
                    str(row.level),
                    iso_time(row.until.timestamp()),
                    row.actor,
                    row.reason,
                )
    db.dispose()
    Console().print(table)


@app.command()
def lift(
    ctx: typer.Context,
    account: str,
    by: Annotated[str | None, typer.Option(help="who lifts it (audit trail)")] = None,
) -> None:
    """Lift an account's restriction in the store; a running `serve` applies it within 5 s."""
    from phonewarden.store.engine import make_engine

    db = make_engine(_settings(ctx).database_url)
    done = lift_in_store(db, account, by or getpass.getuser(), time.time())
    db.dispose()
    if not done:
        typer.secho(f"{account}: no active restriction", fg=typer.colors.YELLOW, err=True)
        raise typer.Exit(1)
    typer.echo(f"{account}: restriction lifted")


@app.command()
def accounts(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="CDR files to profile")],
    fmt: Annotated[str | None, typer.Option("--format")] = None,
) -> None:
    """Per-account profile learned from CDR files: calls, cost, countries, warm-up done."""
    engine = FraudEngine(_settings(ctx).fraud)
    report = ReadReport()
    try:
        for path in files:
            for cdr in read_cdrs(path, engine.settings, report, fmt):
                engine.on_cdr(cdr)
    except CdrFormatError as exc:
        typer.secho(f"phonewarden fraud accounts: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    table = Table("account", "calls", "cost", "countries", "warm")
    for name, state in engine.detector.accounts.items(engine.now):
        table.add_row(
            name,
            str(state.calls),
            f"{state.total_cost:.2f}",
            " ".join(sorted(state.countries)),
            "yes" if engine.detector.warm(state, engine.now) else "no",
        )
    Console().print(table)


@app.command("pbx-token")
def pbx_token(name: Annotated[str, typer.Argument(help="the PBX's name, e.g. kamailio-1")]) -> None:
    """Make a token for a PBX (/authorize, /cdr): shown once; its SHA-256 goes into [fraud] pbx_tokens."""
    if not 1 <= len(name) <= 64 or '"' in name:
        raise typer.BadParameter("1 to 64 characters, no double quote", param_hint="NAME")
    token = new_token()
    typer.echo(f"token for {name} (shown once; give it to the PBX as Authorization: Bearer):\n{token}\n")
    typer.echo("add to phonewarden.toml under [fraud], then restart serve:")
    typer.echo(f'pbx_tokens = [{{ name = "{name}", sha256 = "{digest(token)}" }}]')
