"""`phonewarden shield ...`: replay a capture through the shield; list, lift and prevent bans; remove the
enforcers' state.

replay never enforces and never writes the store: it shows what the shield would conclude and decide, in
event time, so the same capture gives the same answer every time. A reason a banned source earns later
("extend") is not a line of its own there: the summary lists every banned source with all its reasons.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from phonewarden.capture.replay import CaptureError, CaptureReplay
from phonewarden.core.records import iso_time
from phonewarden.output import JsonLinesSink
from phonewarden.settings import Settings, SettingsError, load_settings
from phonewarden.shield.bans import BanStore
from phonewarden.shield.enforce import EnforcementError, build_enforcers, canonical
from phonewarden.shield.findings import Finding
from phonewarden.shield.policy import Decision
from phonewarden.shield.service import ShieldService
from phonewarden.store.engine import make_engine
from phonewarden.store.errors import StoreError
from phonewarden.wire.traffic import TrafficDecoder

app = typer.Typer(no_args_is_help=True)


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.find_root().obj
    if not isinstance(settings, Settings):  # called without the root app (tests): defaults + env
        settings = load_settings()
    return settings


def _fail(message: str) -> typer.Exit:
    typer.secho(f"phonewarden shield: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(2)


@app.command()
def replay(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="pcap/pcapng of plain SIP or HEP v3", dir_okay=False)],
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines: finding, ban, summary")] = False,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML settings file (as `phonewarden --config`)", dir_okay=False),
    ] = None,
) -> None:
    """Replay a capture through detectors and policy (event time, enforcement off)."""
    if config is not None:
        try:
            settings = load_settings(config)
        except SettingsError as exc:
            raise _fail(str(exc)) from None
    else:
        settings = _settings(ctx)
    service = ShieldService(settings.shield)
    decoder = TrafficDecoder()
    sink = JsonLinesSink(sys.stdout.buffer) if as_json else None
    outputs: list[Any] = []
    try:
        for output in service.replay(CaptureReplay(file, progress=not as_json), decoder):
            if isinstance(output, Decision) and output.action == "extend":
                continue
            if sink is not None:
                sink.emit(output)
            else:
                outputs.append(output)
    except CaptureError as exc:
        raise _fail(str(exc)) from None
    summary = service.summary()
    if sink is not None:
        sink.emit(summary)
        sink.close()
        return
    _print_replay(outputs, summary.to_json(), dict(decoder.anomalies))


def _print_replay(outputs: list[Any], summary: dict[str, Any], anomalies: dict[str, int]) -> None:
    console = Console(highlight=False)
    day = iso_time(outputs[0].time)[:10] if outputs else ""
    table = Table(title=f"shield findings and decisions {day} (UTC, event time)")
    for column in ("time", "what", "source", "severity / ban"):
        table.add_column(column, no_wrap=True)
    table.add_column("reason", overflow="fold", ratio=1)
    for output in outputs:
        if isinstance(output, Finding):
            table.add_row(_clock(output.time), output.detector, output.source, output.severity, output.reason)
        else:
            verb = "would ban" if output.dry_run else "ban"
            table.add_row(
                _clock(output.time), f"[bold red]{verb}[/]", output.source, f"{output.duration_s} s",
                "; ".join(output.reasons),
            )  # fmt: skip
    console.print(table)
    console.print(
        f"{summary['sip_messages']} SIP messages, {sum(summary['findings'].values())} findings, "
        f"{summary['bans']} sources banned: {', '.join(summary['banned']) or '-'}"
    )
    for source, why in summary["suppressed"].items():
        console.print(f"  not banned {source}: {why}")
    if anomalies:
        console.print(f"  skipped/malformed input: {anomalies}")


def _clock(epoch: float) -> str:
    return iso_time(epoch)[11:23]


def _service(ctx: typer.Context, enforce: bool) -> ShieldService:
    settings = _settings(ctx)
    try:
        store = BanStore(make_engine(settings.database_url))
        enforcers = build_enforcers(settings.shield) if enforce else []
        return ShieldService(settings.shield, store=store, enforcers=enforcers)
    except (StoreError, ValueError) as exc:
        raise _fail(str(exc)) from None


@app.command()
def bans(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines, one ban a line")] = False,
) -> None:
    """List active bans with their reasons; would-be bans of a dry run are marked."""
    service = _service(ctx, enforce=False)
    assert service.store is not None
    try:
        rows = service.store.active_bans(include_dry_run=True)
    except StoreError as exc:
        raise _fail(str(exc)) from None
    now = datetime.now(UTC)
    if as_json:
        sink = JsonLinesSink(sys.stdout.buffer)
        for row in rows:
            sink.stream.write(sink.encoder.encode({"type": "shield_ban", **row.to_json(now)}) + b"\n")
        sink.close()
        return
    would = sum(row.dry_run for row in rows)
    title = f"{len(rows) - would} active bans" + (f", {would} would-be bans (dry run)" if would else "")
    table = Table(title=title)
    for column in ("address", "left", "offences", "reasons"):
        table.add_column(column, overflow="fold")
    for row in rows:
        address = f"{row.address} (dry run: not enforced)" if row.dry_run else row.address
        table.add_row(address, f"{row.seconds_left(now):.0f} s", str(row.offences), "; ".join(row.reasons))
    Console(highlight=False).print(table)


@app.command()
def unban(ctx: typer.Context, address: Annotated[str, typer.Argument(help="IP address or CIDR")]) -> None:
    """Lift a ban in the store and in every configured enforcer."""
    try:
        key = canonical(address)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    service = _service(ctx, enforce=True)
    try:
        removed = service.unban(key)
    except StoreError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"unbanned {key}" if removed else f"{key} was not banned (lifted in the enforcers anyway)")


@app.command()
def allow(
    ctx: typer.Context,
    cidr: Annotated[str, typer.Argument(help="network that must never be banned, e.g. 198.51.100.0/24")],
    note: Annotated[str, typer.Option(help="why (shown in the list)")] = "",
) -> None:
    """Never ban a network again (kept in the store); lifts bans inside it."""
    service = _service(ctx, enforce=True)
    try:
        lifted = service.allow(cidr, note)
    except ValueError as exc:
        raise _fail(f"{cidr!r} is not an IP network: {exc}") from None
    except StoreError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"allowed {cidr}" + (f"; lifted bans: {', '.join(lifted)}" if lifted else ""))


@app.command()
def uninstall(ctx: typer.Context) -> None:
    """Remove the enforcers' state: the nftables table with every ban in it, the Kamailio ban tables' items.

    Stopping `serve` leaves bans in place (their timeouts end them); this is the way to drop them all. The
    store keeps its bans: the next `serve` applies the running ones again."""
    settings = _settings(ctx)
    try:  # the real back-ends even in dry-run: a table left by an earlier enforcing run must go too
        enforcers = build_enforcers(settings.shield.model_copy(update={"dry_run": False}))
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if not enforcers:
        typer.echo("no enforcers configured (shield.enforcers is empty): nothing to remove")
        return
    failed = False
    for enforcer in enforcers:
        try:
            enforcer.remove()
        except EnforcementError as exc:  # report every back-end, then fail
            typer.secho(f"phonewarden shield: {enforcer.name}: {exc}", fg=typer.colors.RED, err=True)
            failed = True
        else:
            typer.echo(f"removed the {enforcer.name} bans")
    if failed:
        raise typer.Exit(2)
