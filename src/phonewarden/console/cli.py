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
    app = create_app(settings)
    uvicorn.run(
        app,
        host=host or settings.console.host,
        port=port or settings.console.port,
        log_level=settings.log_level,
    )
