"""The five guards and how the CLI and console find the ones that are installed.

A guard is a folder `phonewarden/<guard>/`. What the kernel looks for in it, each part optional:

- `cli.py`: a Typer `app`, mounted as `phonewarden <guard> ...`;
- `api.py`: a FastAPI `router`, mounted under `/api/v1/<guard>` in the console;
- `live.py`: `start(settings, engine) -> LiveGuard` — `serve` hands it every record from the HEP listener
  (and live capture) and stops it at shutdown;
- `models.py` + `migrations/`: its tables and its own Alembic branch (see `phonewarden.store.migrate`);
- `settings.py`: its `[<guard>]` settings section, declared in `phonewarden.settings`.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, Protocol


class LiveGuard(Protocol):
    """A guard running inside `serve`: it receives every decoded record, in arrival order."""

    def on_record(self, record: Any) -> None: ...

    async def stop(self) -> None: ...


GUARDS = {
    "shield": "SIP shield: detect attacks, block sources",
    "fraud": "Fraud guard: call records, live calls, restrictions",
    "privacy": "Privacy monitor: destinations, countries, identifier leaks",
    "audit": "Endpoint audit: config lint and probes",
    "provisioning": "Secure provisioning of phones",
}


def import_guard_module(guard: str, part: str) -> ModuleType | None:
    """Import `phonewarden.<guard>.<part>`, or None when that guard or part is not installed."""
    module_name = f"phonewarden.{guard}.{part}"
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only a missing guard or part means "not installed"; a broken import inside it must surface.
        if exc.name in (module_name, f"phonewarden.{guard}"):
            return None
        raise


def guard_package(guard: str) -> ModuleType | None:
    """The guard's package `phonewarden.<guard>`, or None when that guard is not installed."""
    module_name = f"phonewarden.{guard}"
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise
