"""The root command: `phonewarden [--config FILE] COMMAND`.

Each guard adds its own sub-app by shipping `phonewarden/<guard>/cli.py` with a Typer `app`;
the root mounts whichever guards are installed, so adding a guard touches no other code.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from phonewarden import __version__, _accel
from phonewarden.guards import GUARDS, import_guard_module
from phonewarden.settings import Settings, SettingsError, load_settings

# The command a guard is called by, where it differs from its folder name.
COMMAND_NAMES = {"provisioning": "provision"}

app = typer.Typer(
    name="phonewarden",
    help="Guards IP telephony: SIP shield, fraud guard, privacy monitor, endpoint audit, provisioning.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"phonewarden {__version__} ({_accel.status})")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML settings file", dir_okay=False)
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version")
    ] = False,
) -> None:
    try:
        settings = load_settings(config)
    except SettingsError as exc:
        typer.secho(f"phonewarden: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    ctx.obj = settings


def settings_of(ctx: typer.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


def _mount_subapps() -> None:
    from phonewarden.capture.cli import app as wire_app
    from phonewarden.console.admin_cli import app as admin_app
    from phonewarden.console.cli import serve
    from phonewarden.console.demo import demo
    from phonewarden.console.location_cli import app as location_app
    from phonewarden.store.cli import app as db_app

    app.command(help="Start the console (web UI + API) and the HEP listener")(serve)
    app.add_typer(db_app, name="db")
    app.add_typer(admin_app, name="admin")
    app.command(help="Load a sample data set so the console shows something")(demo)
    app.add_typer(wire_app, name="wire")
    app.add_typer(
        location_app, name="location", help="Emergency locations per subnet (address, floor) for the PBX"
    )
    for guard, help_text in GUARDS.items():
        module = import_guard_module(guard, "cli")
        if module is not None:
            app.add_typer(module.app, name=COMMAND_NAMES.get(guard, guard), help=help_text)


_mount_subapps()


def main() -> None:
    app()
