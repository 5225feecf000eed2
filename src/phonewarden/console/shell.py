"""The dashboard shell: one Jinja2 environment for the console's and the guards' templates.

A guard's pages live in its own folder: `phonewarden/<guard>/pages.py` with a FastAPI `router` (mounted
at /<guard>, viewer role needed, CSRF checked on changes) and optional `NAV = [("Bans", "/shield/bans")]`;
its templates in `phonewarden/<guard>/templates/` are addressed as "<guard>/name.html" and may
`{% extends "base.html" %}`. Render them with `phonewarden.console.shell.render`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape

from phonewarden import __version__
from phonewarden.console.auth import require
from phonewarden.console.policy import Role
from phonewarden.console.sessions import Principal
from phonewarden.guards import GUARDS, guard_package, import_guard_module

CONSOLE_TEMPLATES = Path(__file__).parent / "templates"


def _guard_template_dirs() -> dict[str, FileSystemLoader]:
    loaders = {}
    for guard in GUARDS:
        package = guard_package(guard)
        if package is not None and package.__file__ is not None:
            folder = Path(package.__file__).parent / "templates"
            if folder.is_dir():
                loaders[guard] = FileSystemLoader(folder)
    return loaders


def cell(value: Any) -> str:
    """A table cell: times in UTC to the second, lists comma-joined, None as a dash."""
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list | tuple | set):
        return ", ".join(str(item) for item in value)
    return str(value)


def _environment() -> Environment:
    loader = ChoiceLoader([FileSystemLoader(CONSOLE_TEMPLATES), PrefixLoader(_guard_template_dirs())])
    env = Environment(loader=loader, autoescape=select_autoescape(default=True), auto_reload=False)
    env.filters["cell"] = cell
    return env


TEMPLATES = Jinja2Templates(env=_environment())
NAV: list[tuple[str, str]] = [
    ("Overview", "/overview"),
    ("Findings", "/findings"),
    ("Emergency locations", "/locations"),
    ("Alert outbox", "/alerts/outbox"),
]


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    principal: Principal | None = None,
    status: int = 200,
) -> HTMLResponse:
    """A page in the shell: `principal` (the logged-in user) fills the header, nav and CSRF field."""
    base = {
        "version": __version__,
        "user": principal,
        "csrf": principal.csrf_token if principal else "",
        "nav": NAV + request.app.state.guard_nav,
    }
    return TEMPLATES.TemplateResponse(request, name, {**base, **context}, status_code=status)


def mount_guard_pages(app: FastAPI) -> list[tuple[str, str]]:
    """Include every installed guard's pages router under /<guard>; returns the guards' nav entries."""
    nav: list[tuple[str, str]] = []
    for guard in GUARDS:
        module = import_guard_module(guard, "pages")
        if module is None:
            continue
        app.include_router(module.router, prefix=f"/{guard}", dependencies=[require(Role.VIEWER, page=True)])
        nav.extend(getattr(module, "NAV", [(guard.capitalize(), f"/{guard}")]))
    return nav
