"""`phonewarden audit ...`: lint phone configs, probe phones, list the policy.

Exit status: 0 every input read and no check failed; 1 some check failed; 2 some input could not be
read (a file of an unknown vendor, a bad target): the other inputs are still audited and reported.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from phonewarden.audit import service
from phonewarden.audit.policy import rules
from phonewarden.audit.probe import TargetError
from phonewarden.audit.report_html import render_report
from phonewarden.audit.results import CheckResult, Status
from phonewarden.output import JsonLinesSink
from phonewarden.settings import Settings

app = typer.Typer(help="Endpoint audit: config lint and safe probes", no_args_is_help=True)
STATUS_STYLE = {"fail": "bold red", "unknown": "yellow", "pass": "green"}

JsonOption = Annotated[bool, typer.Option("--json", help="JSON Lines: check records, then a summary")]
HtmlOption = Annotated[Path | None, typer.Option("--html", help="Write the site's HTML report to this file")]
StoreOption = Annotated[
    bool, typer.Option("--store", help="Save the results in the database for the console")
]
SiteOption = Annotated[str | None, typer.Option("--site", help="Site name for reports and stored results")]
AllOption = Annotated[bool, typer.Option("--all", help="Also list passing checks")]


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.find_root().obj
    if not isinstance(settings, Settings):  # called without the root callback (tests)
        from phonewarden.settings import load_settings

        settings = load_settings()
    return settings


@app.command()
def config(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Config files or directories")],
    json: JsonOption = False,
    html: HtmlOption = None,
    store: StoreOption = False,
    site: SiteOption = None,
    show_all: AllOption = False,
) -> None:
    """Lint vendor config files (Yealink, Snom, Grandstream, Poly, Fanvil) against the hardening policy."""
    settings = _settings(ctx)
    outcome = service.lint(paths, site or settings.audit.site)
    _finish(settings, "config", outcome, json, html, store, site, show_all)


@app.command()
def probe(
    ctx: typer.Context,
    targets: Annotated[list[str], typer.Argument(help="IP addresses or CIDR networks")],
    json: JsonOption = False,
    html: HtmlOption = None,
    store: StoreOption = False,
    site: SiteOption = None,
    show_all: AllOption = False,
    ghost_call: Annotated[
        bool,
        typer.Option(
            "--ghost-call",
            help="Also send an unsolicited INVITE (cancelled at once; the phone may ring briefly)",
        ),
    ] = False,
    no_login: Annotated[
        bool, typer.Option("--no-login", help="Do not try the vendor default web login")
    ] = False,
) -> None:
    """Probe only the named phones: SIP OPTIONS (UDP/TCP/TLS), management ports, TLS, one default login."""
    settings = _settings(ctx)
    audit = settings.audit.model_copy(
        update={
            "ghost_call": ghost_call or settings.audit.ghost_call,
            "login_check": settings.audit.login_check and not no_login,
            "site": site or settings.audit.site,
        }
    )
    try:
        outcome = service.probe(targets, audit, settings.data_dir)
    except TargetError as exc:
        typer.secho(f"phonewarden audit probe: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    silent = len(outcome.hosts) - len({r.target for r in outcome.results})
    if silent and not json:
        typer.echo(f"{silent} of {len(outcome.hosts)} addresses did not answer on any probed port")
    _finish(settings, "probe", outcome, json, html, store, site, show_all)


@app.command("rules")
def list_rules(json: JsonOption = False) -> None:
    """The hardening policy: check ids, severity, why, and the fix per vendor."""
    if json:
        import msgspec

        for r in rules():
            sys.stdout.buffer.write(msgspec.json.encode({"type": "rule", **r.to_json()}) + b"\n")
        return
    table = Table("check", "severity", "why", "Telekom guide", "standards")
    for r in rules():
        table.add_row(r.id, r.severity.value, r.why, r.telekom, ", ".join(r.standards))
    Console().print(table)


def _finish(
    settings: Settings,
    kind: str,
    outcome: service.Outcome,
    json: bool,
    html: Path | None,
    store: bool,
    site: str | None,
    show_all: bool,
) -> None:
    site_name = site or settings.audit.site
    if json:
        sink = JsonLinesSink(sys.stdout.buffer)
        for result in outcome.results:
            sink.emit(result)
        sink.emit(outcome.summary())
        sink.close()
    else:
        _print(outcome, show_all)
    for error in outcome.errors:
        typer.secho(f"phonewarden audit {kind}: {error}", fg=typer.colors.RED, err=True)
    if html is not None:
        html.write_text(render_report(outcome.results, outcome.errors, site_name), encoding="utf-8")
    if store:
        from sqlalchemy.exc import OperationalError, ProgrammingError

        from phonewarden.store.engine import make_engine

        engine = make_engine(settings.database_url)
        try:
            run_id = service.store(engine, kind, site_name, outcome)
        except (OperationalError, ProgrammingError) as exc:
            typer.secho(
                f"phonewarden audit {kind}: cannot store results ({type(exc).__name__}): "
                "run `phonewarden db upgrade` first",
                fg=typer.colors.RED,
                err=True,
            )
            raise typer.Exit(2) from None
        finally:
            engine.dispose()
        if not json:
            typer.echo(f"stored as audit run {run_id}")
    if outcome.errors:
        raise typer.Exit(2)
    if any(r.status is Status.FAIL for r in outcome.results):
        raise typer.Exit(1)


def _print(outcome: service.Outcome, show_all: bool) -> None:
    console = Console(highlight=False)
    targets: dict[str, list[CheckResult]] = {}
    for result in outcome.results:
        targets.setdefault(result.target, []).append(result)
    for target, results in targets.items():
        first = results[0]
        identity = " ".join(filter(None, (first.vendor, first.model, first.firmware))) or "unidentified"
        console.print(f"[bold]{escape(target)}[/]  {escape(identity)}")
        for r in results:
            if r.status is Status.PASS and not show_all:
                continue
            style = STATUS_STYLE[r.status.value]
            console.print(
                f"  [{style}]{r.status.value.upper():7}[/] {r.severity.value:8} {r.check}: {escape(r.detail)}"
            )
            if r.status is not Status.PASS:
                console.print(f"  {'':16} fix: {escape(r.remediation)}")
    summary = outcome.summary().to_json()
    console.print(
        f"{summary['targets']} targets, {summary['checks']} checks: {summary['fail']} fail, "
        f"{summary['unknown']} unknown, {summary['pass']} pass, {len(outcome.errors)} unreadable"
    )
