"""`phonewarden privacy analyze CAPTURE`: destinations, leaks and residency verdicts per device.

`--json` writes JSON Lines (`destination`, `leak`, `new_destination`, `verdict`, then one `summary`);
`--html FILE` writes the per-device report a non-expert can read. Human output is a Rich summary.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine

from phonewarden.capture.replay import CaptureError
from phonewarden.output import JsonLinesSink, decode_json_lines
from phonewarden.privacy.detect_new import Baseline
from phonewarden.privacy.dnslogs import DnsLogError
from phonewarden.privacy.inventory import Device, InventoryError, load_inventory, parse_inventory
from phonewarden.privacy.policy import PolicyError, parse_policy
from phonewarden.privacy.report import render_report
from phonewarden.privacy.repository import load_from_store, save_to_store
from phonewarden.privacy.service import Analysis, analyze_capture
from phonewarden.privacy.zeeklogs import ZeekLogError
from phonewarden.store.engine import make_engine
from phonewarden.store.errors import StoreError

app = typer.Typer(help="Privacy monitor: destinations, countries, identifier leaks", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Privacy monitor: where each device sends data, in which country, and which identifiers leave."""


@app.command()
def analyze(
    capture: Annotated[
        Path | None,
        typer.Argument(help="pcap/pcapng file (gzip allowed); optional with --zeek-conn", dir_okay=False),
    ] = None,
    devices: Annotated[
        Path | None, typer.Option("--devices", help="device inventory, .json or .toml")
    ] = None,
    policy: Annotated[
        list[str] | None,
        typer.Option("--policy", help="eu | de (any country code) | countries:DE,AT | domains:vendor.com"),
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option("--baseline", help="earlier `analyze --json` output: alert on new places")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines on stdout")] = False,
    html: Annotated[Path | None, typer.Option("--html", help="write the per-device HTML report here")] = None,
    store: Annotated[
        bool,
        typer.Option(
            "--store",
            help="save the results in the database; without --baseline, alert on "
            "destinations no stored run has seen",
        ),
    ] = False,
    stored_devices: Annotated[
        bool, typer.Option("--stored-devices", help="use the inventory kept in the database (console/API)")
    ] = False,
    dns_log: Annotated[
        list[Path] | None,
        typer.Option("--dns-log", help="dnsmasq/Pi-hole log or Zeek dns.log: host names for addresses"),
    ] = None,
    zeek_conn: Annotated[
        list[Path] | None,
        typer.Option(
            "--zeek-conn", help="Zeek conn.log (TSV or JSON): flows per device, with or instead of a capture"
        ),
    ] = None,
    zeek_ssl: Annotated[
        list[Path] | None,
        typer.Option("--zeek-ssl", help="Zeek ssl.log (TSV or JSON): TLS server names for the flows"),
    ] = None,
    database: Annotated[
        str | None, typer.Option("--database", help="database URL (default: database_url of the settings)")
    ] = None,
) -> None:
    err = Console(stderr=True, soft_wrap=True)  # error text is copied and grepped: never wrapped
    if capture is None and not zeek_conn:
        err.print("[red]error:[/] give a CAPTURE file, or Zeek's conn.log with --zeek-conn")
        raise typer.Exit(2)
    try:
        policies = [parse_policy(text) for text in policy or []]
        known = Baseline.from_records(decode_json_lines(baseline.read_bytes())) if baseline else None
        inventory: list[Device] = load_inventory(devices) if devices else []
        engine = _store_engine(database) if store or stored_devices else None
        if engine is not None:
            stored, stored_known = load_from_store(engine)
            inventory = inventory + stored if stored_devices else inventory
            known = known if known is not None or not store else stored_known
        parse_inventory([d.to_json() for d in inventory], "inventory")  # names and IPs unique across both
        analysis = analyze_capture(
            capture, inventory, policies, known, dns_log or [], zeek_conn or [], zeek_ssl or []
        )
        source = str(capture) if capture is not None else ",".join(map(str, zeek_conn or []))
        run_id = save_to_store(engine, analysis, source, policy or []) if store and engine else None
    except (InventoryError, PolicyError, CaptureError, StoreError, DnsLogError, ZeekLogError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    except (OSError, json.JSONDecodeError, ValueError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    if run_id is not None:
        err.print(f"stored as privacy run {run_id}")
    if html is not None:
        html.write_text(render_report(analysis), encoding="utf-8")
    if as_json:
        sink = JsonLinesSink(sys.stdout.buffer)
        for record in analysis.records():
            sink.emit(record)
        sink.close()
    else:
        print_human(analysis, Console())
    if html is not None:
        err.print(f"report written to {html}")


def _store_engine(database: str | None) -> Engine:
    from phonewarden.settings import load_settings

    return make_engine(database or load_settings().database_url)


def print_human(analysis: Analysis, console: Console) -> None:
    for name, facts in analysis.summary.devices.items():
        countries = ", ".join(facts["countries"]) or "none"
        console.print(
            f"[bold]{escape(name)}[/]: {facts['public_destinations']} internet destinations in {countries}; "
            f"{facts['leaks_high']} identifier leaks, {facts['leaks_low']} possible; "
            f"{facts['opaque_share']:.0%} of bytes opaque"
        )
        for leak in (leak for leak in analysis.leaks if leak.device == name):
            dest = leak.destination
            console.print(
                f"  [red]leak[/] {leak.identifier} ({leak.encoding}, {leak.confidence}) -> "
                f"{escape(dest.host or dest.address)} [{dest.country or '?'}] {escape(leak.evidence)}"
            )
        for verdict in (v for v in analysis.verdicts if v.device == name):
            colour = {"ok": "green", "violation": "red"}.get(verdict.status, "yellow")
            console.print(f"  [{colour}]{verdict.status}[/] {escape(verdict.policy)}")
    for alert in analysis.alerts:
        dest = alert.destination
        place = alert.host or dest.host or dest.address  # a new name on a shared address names itself
        console.print(f"[yellow]new[/] {escape(alert.device)} -> {escape(place)}")
    sources = analysis.summary.sources
    console.print(
        f"[dim]countries: {sources['country']} of {sources['country_date']}; "
        f"organisations: {sources['org']} of {sources['org_date']}[/]"
    )
