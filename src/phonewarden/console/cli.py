"""`phonewarden serve`: migrate the database, then run the console and the HEP listener."""

from __future__ import annotations

from typing import Annotated

import typer

from phonewarden.settings import Settings
from phonewarden.store.migrate import upgrade


def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Listen address (default from settings: 127.0.0.1)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (default from settings: 8080)")] = None,
) -> None:
    import uvicorn

    from phonewarden.console.app import create_app

    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    console = settings.console.model_copy(
        update={"host": host or settings.console.host, "port": port or settings.console.port}
    )
    warning = console.transport_warning()
    if warning:
        typer.secho(f"phonewarden: warning: {warning}", fg=typer.colors.YELLOW, err=True)
    app = create_app(settings.model_copy(update={"console": console}))
    # Forwarded headers are handled by the app itself, from console.trusted_proxies only.
    uvicorn.run(app, host=console.host, port=console.port, log_level=settings.log_level, proxy_headers=False)
