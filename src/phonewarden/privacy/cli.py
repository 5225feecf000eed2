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

from phonewarden.capture.replay import CaptureError
from phonewarden.output import JsonLinesSink, decode_json_lines
from phonewarden.privacy.detect_new import Baseline
from phonewarden.privacy.inventory import Device, InventoryError, load_inventory
from phonewarden.privacy.policy import PolicyError, parse_policy
from phonewarden.privacy.report import render_report
from phonewarden.privacy.service import Analysis, analyze_capture

app = typer.Typer(help="Privacy monitor: destinations, countries, identifier leaks", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Privacy monitor: where each device sends data, in which country, and which identifiers leave."""


@app.command()
def analyze(
    capture: Annotated[Path, typer.Argument(help="pcap/pcapng file (gzip allowed)", dir_okay=False)],
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
) -> None:
    err = Console(stderr=True)
    try:
        inventory: list[Device] = load_inventory(devices) if devices else []
        policies = [parse_policy(text) for text in policy or []]
        known = Baseline.from_records(decode_json_lines(baseline.read_bytes())) if baseline else None
        analysis = analyze_capture(capture, inventory, policies, known)
    except (InventoryError, PolicyError, CaptureError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    except (OSError, json.JSONDecodeError, ValueError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
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
        console.print(f"[yellow]new[/] {escape(alert.device)} -> {escape(dest.host or dest.address)}")
    sources = analysis.summary.sources
    console.print(
        f"[dim]countries: {sources['country']} of {sources['country_date']}; "
        f"organisations: {sources['org']} of {sources['org_date']}[/]"
    )
