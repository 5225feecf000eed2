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
from phonewarden.fraud.records import Restriction, Summary
from phonewarden.fraud.restrictions import destination_digits
from phonewarden.fraud.service import lift_destination_in_store, lift_in_store
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
    # A finished file: its new numbers are rated a chunk at a time, ahead of detection (same results).
    cdrs = (
        (cdr.end, 1, cdr)
        for path in files
        for cdr in engine.rated_ahead(read_cdrs(path, settings, report, fmt))
    )
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
        findings = list(shield_findings(db, rules=settings.fraud.live_accounts))
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


def _json_lines(records: list[dict[str, Any]]) -> None:
    import msgspec

    sys.stdout.buffer.write(b"".join(msgspec.json.encode(record) + b"\n" for record in records))
    sys.stdout.flush()


@app.command()
def restrictions(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines `restriction` records")] = False,
) -> None:
    """Active restrictions in the store (written by the running guard)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from phonewarden.fraud.models import FraudRestriction
    from phonewarden.store.engine import make_engine

    db = make_engine(_settings(ctx).database_url)
    with Session(db) as session:
        rows = session.scalars(select(FraudRestriction).where(FraudRestriction.lifted_at.is_(None)))
        active = [row for row in rows if row.until.timestamp() > time.time()]
    db.dispose()
    if as_json:
        _json_lines([_restriction_json(row) for row in active])
        return
    table = Table("account", "destination", "level", "until", "actor", "reason")
    for row in active:
        table.add_row(
            row.account,
            row.destination,
            str(row.level),
            iso_time(row.until.timestamp()),
            row.actor,
            row.reason,
        )
    Console().print(table)


def _restriction_json(row: Any) -> dict[str, Any]:
    return Restriction(
        time=row.time.timestamp(), account=row.account, level=row.level, until=row.until.timestamp(),
        reason=row.reason, actor=row.actor, destination=row.destination,
    ).to_json()  # fmt: skip


@app.command()
def lift(
    ctx: typer.Context,
    account: Annotated[str | None, typer.Argument(help="the restricted account")] = None,
    destination: Annotated[
        str | None, typer.Option(help="instead: a blocked number, as listed (+E.164), e.g. +18765550123")
    ] = None,
    by: Annotated[str | None, typer.Option(help="who lifts it (audit trail)")] = None,
) -> None:
    """Lift an account's restriction or a number block in the store; a running `serve` applies it
    within 5 s."""
    from phonewarden.store.engine import make_engine

    if (account is None) == (destination is None):
        raise typer.BadParameter("give an ACCOUNT or --destination NUMBER, not both", param_hint="ACCOUNT")
    if destination is not None:
        try:
            digits = destination_digits(destination)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--destination") from None
    db = make_engine(_settings(ctx).database_url)
    actor = by or getpass.getuser()
    if destination is not None:
        done = lift_destination_in_store(db, digits, actor, time.time())
        what = f"+{digits}"
    else:
        assert account is not None
        done = lift_in_store(db, account, actor, time.time())
        what = account
    db.dispose()
    if not done:
        missing = "not blocked" if destination is not None else "no active restriction"
        typer.secho(f"{what}: {missing}", fg=typer.colors.YELLOW, err=True)
        raise typer.Exit(1)
    typer.echo(f"{what}: {'block' if destination is not None else 'restriction'} lifted")


@app.command()
def accounts(
    ctx: typer.Context,
    files: Annotated[
        list[Path] | None, typer.Argument(help="CDR files to profile; none: the store's last 7 days")
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines, one object per account")] = False,
) -> None:
    """Per-account profile: from CDR files (calls, cost, countries, warm-up done), or without files the
    accounts the running guard stored in the last 7 days (calls, cost, level, warm, last call)."""
    if not files:
        _stored_accounts(_settings(ctx), as_json)
        return
    engine = FraudEngine(_settings(ctx).fraud)
    report = ReadReport()
    try:
        for path in files:
            for cdr in engine.rated_ahead(read_cdrs(path, engine.settings, report, fmt)):
                engine.on_cdr(cdr)
    except CdrFormatError as exc:
        typer.secho(f"phonewarden fraud accounts: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    profiles: list[dict[str, Any]] = [
        {
            "account": name,
            "calls": state.calls,
            "cost": round(state.total_cost, 2),
            "countries": sorted(state.countries),
            "warm": engine.detector.warm(state, engine.now),
        }
        for name, state in engine.detector.accounts.items(engine.now)
    ]
    if as_json:
        _json_lines(profiles)
        return
    table = Table("account", "calls", "cost", "countries", "warm")
    for p in profiles:
        warm = "yes" if p["warm"] else "no"
        table.add_row(p["account"], str(p["calls"]), f"{p['cost']:.2f}", " ".join(p["countries"]), warm)
    Console().print(table)


def _stored_accounts(settings: Settings, as_json: bool) -> None:
    """The store's view: what the running guard summed per hour (its last FLUSH_SECONDS may be missing)."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from phonewarden.fraud.service import FLUSH_SECONDS, FraudService
    from phonewarden.fraud.views import ACCOUNT_DAYS, account_rows
    from phonewarden.store.engine import make_engine

    db = make_engine(settings.database_url)
    try:
        rows = account_rows(FraudService(settings.fraud, db), db, time.time())
    except (OperationalError, ProgrammingError) as exc:
        message = f"phonewarden fraud accounts: cannot read the store ({exc.orig}): `phonewarden db upgrade`"
        typer.secho(message, fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    records = [{**row, "last_call": iso_time(row["last_call"])} for row in rows]
    if as_json:
        _json_lines(records)
        return
    table = Table("account", "calls", "cost", "level", "warm", "last call (UTC)")
    for r in records:
        warm = "yes" if r["warm"] else "no"
        cost, level = f"{r['cost']:.2f}", str(r["level"])
        table.add_row(r["account"], str(r["calls"]), cost, level, warm, r["last_call"])
    Console().print(table)
    typer.echo(
        f"{len(records)} accounts with calls in the last {ACCOUNT_DAYS} days, as the running guard stored "
        f"them (every {FLUSH_SECONDS:.0f} s); CDR files given as arguments are profiled instead.",
        err=True,
    )


@app.command("pbx-token")
def pbx_token(name: Annotated[str, typer.Argument(help="the PBX's name, e.g. kamailio-1")]) -> None:
    """Make a token for a PBX (/authorize, /cdr): shown once; its SHA-256 goes into [fraud] pbx_tokens."""
    if not 1 <= len(name) <= 64 or '"' in name:
        raise typer.BadParameter("1 to 64 characters, no double quote", param_hint="NAME")
    token = new_token()
    typer.echo(f"token for {name} (shown once; give it to the PBX as Authorization: Bearer):\n{token}\n")
    typer.echo("add to phonewarden.toml under [fraud], then restart serve:")
    typer.echo(f'pbx_tokens = [{{ name = "{name}", sha256 = "{digest(token)}" }}]')
