"""`phonewarden admin ...`: operator accounts from the command line (the first admin starts here)."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from phonewarden.console.accounts import AccountError, Accounts, Enrolment
from phonewarden.console.audit_log import Actor
from phonewarden.console.policy import ConsolePolicy, Role
from phonewarden.console.second_factor import terminal_qr
from phonewarden.console.secretbox import SecretBox
from phonewarden.settings import Settings
from phonewarden.store.engine import make_engine
from phonewarden.store.errors import StoreError
from phonewarden.store.migrate import upgrade

app = typer.Typer(help="Operator accounts of the console", no_args_is_help=True)


def _accounts(ctx: typer.Context) -> Accounts:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    try:
        upgrade(settings.database_url)
    except StoreError as exc:
        typer.secho(f"phonewarden: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    policy = ConsolePolicy.from_settings(settings.console)
    return Accounts(make_engine(settings.database_url), SecretBox.in_dir(settings.data_dir), policy)


def _actor() -> Actor:
    return Actor(f"cli:{getpass.getuser()}", "localhost")


def _print_enrolment(enrolment: Enrolment) -> None:
    typer.echo(f"user:                {enrolment.name} ({enrolment.role.value})")
    typer.echo(f"one-time password:   {enrolment.one_time_password}")
    typer.echo("authenticator (TOTP), scan the QR code or enter this link:")
    typer.echo(f"  {enrolment.otpauth_uri}")
    typer.echo(terminal_qr(enrolment.otpauth_uri))
    typer.echo("At the first login the console asks for a new password and a code from the app.")
    typer.echo("The one-time password is not stored in clear and not shown again.")


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="User name: a-z 0-9 . _ -")],
    role: Annotated[Role, typer.Option(help="admin: everything; operator: act; viewer: read")] = Role.ADMIN,
) -> None:
    """Create an operator; prints a one-time password and the TOTP enrolment (URI and QR code)."""
    try:
        enrolment = _accounts(ctx).create(name, role, _actor())
    except AccountError as exc:
        typer.secho(f"phonewarden: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    _print_enrolment(enrolment)


@app.command()
def reset(ctx: typer.Context, name: str) -> None:
    """New one-time password and TOTP secret for NAME; ends their sessions and recovery codes."""
    try:
        enrolment = _accounts(ctx).reset(name, _actor())
    except AccountError as exc:
        typer.secho(f"phonewarden: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    _print_enrolment(enrolment)


@app.command("list")
def list_users(ctx: typer.Context) -> None:
    """Operators with role, enrolment state and last login."""
    for user in _accounts(ctx).all():
        state = "enrolment pending" if user.must_enrol else "active"
        last = user.last_login_at.isoformat(timespec="seconds") if user.last_login_at else "never"
        typer.echo(f"{user.name}\t{user.role}\t{state}\tlast login {last}")
