"""`phonewarden provision ...`: sites, devices and their lifecycle, rendering for review, the server."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from phonewarden.core.records import iso_time
from phonewarden.provisioning.inventory import Inventory, InventoryError
from phonewarden.provisioning.render import render_device, yealink_common
from phonewarden.provisioning.secrets_box import SecretKeyError, load_box, new_key
from phonewarden.settings import Settings
from phonewarden.store.engine import make_engine
from phonewarden.store.errors import StoreError
from phonewarden.store.migrate import upgrade

app = typer.Typer(no_args_is_help=True, help="Secure provisioning of phones")
site_app = typer.Typer(no_args_is_help=True, help="Sites and their gate rules")
device_app = typer.Typer(no_args_is_help=True, help="Devices: add, list, show, retire, reassign, ...")
app.add_typer(site_app, name="site")
app.add_typer(device_app, name="device")

Networks = Annotated[list[str] | None, typer.Option("--network", help="Allowed source network (repeat)")]
Hours = Annotated[float | None, typer.Option(help="Enrollment window length in hours")]
Fetches = Annotated[int | None, typer.Option(help="Successful fetches allowed per window")]
Flag = bool | None


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


def inventory_of(settings: Settings) -> Inventory:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    box = load_box(settings.provisioning, settings.data_dir)
    return Inventory(engine, box, settings.provisioning)


def _run(ctx: typer.Context, action: Any, kind: str) -> None:
    try:
        result = action(inventory_of(_settings(ctx)))
    except (InventoryError, SecretKeyError, StoreError, ValueError) as exc:
        typer.secho(f"phonewarden provision: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    for item in result if isinstance(result, list) else [result]:
        typer.echo(json.dumps({"type": kind, "time": iso_time(time.time()), **item}))


@app.command()
def keygen() -> None:
    """Print a new encryption key for [provisioning] encryption_key (keep it out of version control)."""
    typer.echo(new_key())


@site_app.command("add")
def site_add(ctx: typer.Context, name: str, network: Networks = None, window_hours: Hours = None,
             max_fetches: Fetches = None, require_user_agent: Flag = None, require_client_cert: Flag = None,
             require_digest: Flag = None, require_consent: Flag = None) -> None:  # fmt: skip
    """Add a site; rules not given come from [provisioning.gate]."""
    rules = dict(networks=network, window_hours=window_hours, max_fetches=max_fetches,
                 require_user_agent=require_user_agent, require_client_cert=require_client_cert,
                 require_digest=require_digest, require_consent=require_consent)  # fmt: skip
    _run(ctx, lambda inv: inv.add_site(name, **rules), "provisioning_site")


@site_app.command("set")
def site_set(ctx: typer.Context, name: str, network: Networks = None, window_hours: Hours = None,
             max_fetches: Fetches = None, require_user_agent: Flag = None, require_client_cert: Flag = None,
             require_digest: Flag = None, require_consent: Flag = None) -> None:  # fmt: skip
    """Change a site's gate rules."""
    rules = dict(networks=network, window_hours=window_hours, max_fetches=max_fetches,
                 require_user_agent=require_user_agent, require_client_cert=require_client_cert,
                 require_digest=require_digest, require_consent=require_consent)  # fmt: skip
    _run(ctx, lambda inv: inv.set_site(name, **rules), "provisioning_site")


@site_app.command("list")
def site_list(ctx: typer.Context) -> None:
    _run(ctx, lambda inv: inv.sites(), "provisioning_site")


def _lines(specs: list[str]) -> list[tuple[str, str]]:
    return [(spec.partition(":")[0].strip(), spec.partition(":")[2].strip()) for spec in specs]


@device_app.command("add")
def device_add(
    ctx: typer.Context,
    mac: str,
    vendor: Annotated[str, typer.Option(help="yealink, snom or grandstream")],
    model: Annotated[str, typer.Option(help="Model as the phone names it, e.g. T46S, D785, GXP2170")],
    site: Annotated[str, typer.Option(help="Site name")],
    line: Annotated[list[str], typer.Option(help="SIP line USER[:Display Name] (repeat)")],
    owner: Annotated[str, typer.Option(help="Who the phone belongs to")] = "",
) -> None:
    """Enroll a device: generates its SIP, admin and digest passwords and opens its window."""
    _run(
        ctx, lambda inv: inv.add_device(mac, vendor, model, site, owner, _lines(line)), "provisioning_device"
    )


@device_app.command("list")
def device_list(ctx: typer.Context, site: Annotated[str | None, typer.Option()] = None) -> None:
    _run(ctx, lambda inv: inv.devices(site), "provisioning_device")


@device_app.command("show")
def device_show(
    ctx: typer.Context,
    mac: str,
    reveal: Annotated[bool, typer.Option(help="Print SIP passwords (audited)")] = False,
) -> None:
    _run(ctx, lambda inv: inv.show(mac, reveal), "provisioning_device")


@device_app.command("retire")
def device_retire(ctx: typer.Context, mac: str, reason: Annotated[str, typer.Option()] = "") -> None:
    """Rotate every secret, close the window, serve a wipe config on the next fetch."""
    _run(ctx, lambda inv: inv.retire(mac, reason), "provisioning_device")


@device_app.command("reassign")
def device_reassign(
    ctx: typer.Context,
    mac: str,
    owner: Annotated[str, typer.Option()],
    site: Annotated[str | None, typer.Option()] = None,
) -> None:
    """New owner: rotate secrets, close the window, wipe on the next fetch; then `device open`."""
    _run(ctx, lambda inv: inv.reassign(mac, owner, site), "provisioning_device")


@device_app.command("open")
def device_open(ctx: typer.Context, mac: str, hours: Hours = None) -> None:
    """Open a new enrollment window (fetch count starts again)."""
    _run(ctx, lambda inv: inv.open_window(mac, hours), "provisioning_device")


@device_app.command("rotate")
def device_rotate(ctx: typer.Context, mac: str) -> None:
    _run(ctx, lambda inv: inv.rotate(mac), "provisioning_device")


@device_app.command("approve")
def device_approve(
    ctx: typer.Context, mac: str, by: Annotated[str, typer.Option(help="Who consented")]
) -> None:
    """Record the customer's consent: the pending config version may be served."""
    _run(ctx, lambda inv: inv.approve(mac, by), "provisioning_device")


@app.command()
def render(
    ctx: typer.Context, mac: str, out: Annotated[Path, typer.Option(help="Directory to write the files to")]
) -> None:
    """Write a device's config files (as served, without counting a fetch) for review or `audit config`."""

    def write(inv: Inventory) -> list[dict[str, Any]]:
        found = inv.for_gate(inv.show(mac)["mac"])
        assert found is not None
        _, target, _ = found
        out.mkdir(parents=True, exist_ok=True)
        names = {
            "yealink": f"{target.mac}.cfg",
            "snom": f"{target.mac}.xml",
            "grandstream": f"cfg{target.mac}.xml",
        }
        files = {names[target.vendor.value]: render_device(target)}
        if target.vendor.value == "yealink":
            files["y000000000000.cfg"] = yealink_common(target)
        for name, text in files.items():
            (out / name).write_text(text)
            (out / name).chmod(0o600)
        return [{"mac": target.mac, "file": str(out / name)} for name in files]

    _run(ctx, write, "provisioning_file")


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Listen address (default [provisioning] host)")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (default [provisioning] port)")] = None,
) -> None:
    """Run the HTTPS device plane on its own (`phonewarden serve` runs it too when enabled)."""
    from phonewarden.provisioning.server import (
        ProvisioningApp,
        ServerSetupError,
        StandaloneServer,
        build_service,
        uvicorn_config,
    )

    settings = _settings(ctx)
    if host is not None or port is not None:
        prov = settings.provisioning.model_copy(
            update={k: v for k, v in {"host": host, "port": port}.items() if v}
        )
        settings = settings.model_copy(update={"provisioning": prov})
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade(settings.database_url)
        service, _ = build_service(settings, make_engine(settings.database_url))
        config = uvicorn_config(settings, ProvisioningApp(service))
    except (SecretKeyError, ServerSetupError, StoreError) as exc:
        typer.secho(f"phonewarden provision serve: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    StandaloneServer(config, service).run()
