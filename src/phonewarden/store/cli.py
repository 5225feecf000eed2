"""`phonewarden db ...`: migrate the database and show where it stands.

The root CLI puts the settings object in `ctx.obj`; only its `database_url` is used here.
"""

from __future__ import annotations

from typing import NoReturn

import typer

from phonewarden.store.engine import make_engine, mask_url, normalize_url
from phonewarden.store.errors import StoreError
from phonewarden.store.migrate import current_revision, head_revision, upgrade

app = typer.Typer(help="Database: migrate and inspect", no_args_is_help=True)

EXIT_NOT_AT_HEAD = 1
EXIT_STORE_ERROR = 2


def _database_url(ctx: typer.Context) -> str:
    url = getattr(ctx.obj, "database_url", None)
    if not isinstance(url, str):
        _fail("no database URL: the db commands need settings with `database_url` in the context")
    return url


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_STORE_ERROR)


def _describe(revision: str | None) -> str:
    return revision if revision is not None else "empty"


@app.command("upgrade")
def upgrade_command(ctx: typer.Context) -> None:
    """Migrate the database to the newest schema; prints from → to."""
    url = _database_url(ctx)
    try:
        engine = make_engine(url)
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
        engine.dispose()
    except StoreError as exc:
        _fail(str(exc))
    if before == after:
        typer.echo(f"already at head {_describe(after)}")
    else:
        typer.echo(f"{_describe(before)} → {_describe(after)}")


@app.command("current")
def current_command(ctx: typer.Context) -> None:
    """Show the database's revision and the newest one; exit 1 when they differ."""
    url = _database_url(ctx)
    try:
        current = current_revision(url)
        head = head_revision()
    except StoreError as exc:
        _fail(str(exc))
    typer.echo(f"current: {_describe(current)}")
    typer.echo(f"head:    {head}")
    if current != head:
        typer.echo(f"database is at {_describe(current)}, this phonewarden expects {head}", err=True)
        raise typer.Exit(EXIT_NOT_AT_HEAD)


@app.command("url")
def url_command(ctx: typer.Context) -> None:
    """Show the database URL in use, password masked."""
    try:
        typer.echo(mask_url(normalize_url(_database_url(ctx))))
    except StoreError as exc:
        _fail(str(exc))
