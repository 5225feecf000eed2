"""HTTP API under /api/v1/privacy: the device inventory (CRUD) and stored analysis results.

Inventory entries take the same JSON objects as the `--devices` file and are validated the same way; a
bad identifier is a 422 naming the field. Results are the records `analyze --json` prints, per run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from phonewarden.privacy import repository
from phonewarden.privacy.inventory import InventoryError
from phonewarden.privacy.models import PrivacyDevice, PrivacyRun
from phonewarden.store.engine import make_engine, session_factory

router = APIRouter()
DeviceBody = Annotated[dict[str, Any], Body(description="an inventory entry, as in the --devices JSON file")]


@cache
def _engine() -> Engine:
    from phonewarden.settings import load_settings

    return make_engine(load_settings().database_url)


def use_engine(engine: Engine) -> None:
    """Point the router at another database (tests, embedding)."""
    _engine.cache_clear()
    globals()["_engine"] = cache(lambda: engine)


@contextmanager
def _session() -> Iterator[Session]:
    with session_factory(_engine())() as session, session.begin():
        yield session


def _device_json(row: PrivacyDevice) -> dict[str, Any]:
    return repository.as_device(row).to_json()


def _run_json(run: PrivacyRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "source": run.source,
        "stored_at": run.stored_at.isoformat(),
        "last_seen": run.last_seen.isoformat() if run.last_seen else None,
        "frames": run.frames,
        "policies": run.policies,
        "summary": run.summary,
    }


def _invalid(exc: InventoryError) -> HTTPException:
    status = 409 if isinstance(exc, repository.InventoryConflict) else 422
    return HTTPException(status, str(exc))


@router.get("/devices")
def list_devices() -> list[dict[str, Any]]:
    with _session() as session:
        return [_device_json(row) for row in repository.list_devices(session)]


@router.post("/devices", status_code=201)
def add_device(entry: DeviceBody) -> dict[str, Any]:
    with _session() as session:
        try:
            return _device_json(repository.add_device(session, entry, "request body"))
        except InventoryError as exc:
            raise _invalid(exc) from None


@router.get("/devices/{name}")
def get_device(name: str) -> dict[str, Any]:
    with _session() as session:
        row = repository.get_device(session, name)
        if row is None:
            raise HTTPException(404, f"no device named {name!r}")
        return _device_json(row)


@router.put("/devices/{name}")
def replace_device(name: str, entry: DeviceBody) -> dict[str, Any]:
    with _session() as session:
        row = repository.get_device(session, name)
        if row is None:
            raise HTTPException(404, f"no device named {name!r}")
        try:
            return _device_json(
                repository.replace_device(session, row, {"name": name, **entry}, "request body")
            )
        except InventoryError as exc:
            raise _invalid(exc) from None


@router.delete("/devices/{name}", status_code=204)
def delete_device(name: str) -> Response:
    with _session() as session:
        row = repository.get_device(session, name)
        if row is None:
            raise HTTPException(404, f"no device named {name!r}")
        session.delete(row)
    return Response(status_code=204)


@router.get("/runs")
def list_runs(limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> list[dict[str, Any]]:
    with _session() as session:
        return [_run_json(run) for run in repository.list_runs(session, limit)]


@router.get("/runs/{run_id}")
def get_run(run_id: int) -> dict[str, Any]:
    with _session() as session:
        run = session.get(PrivacyRun, run_id)
        if run is None:
            raise HTTPException(404, f"no privacy run {run_id}")
        return _run_json(run)


def _records(run_id: int, kind: str, **filters: str | None) -> list[dict[str, Any]]:
    with _session() as session:
        if session.get(PrivacyRun, run_id) is None:
            raise HTTPException(404, f"no privacy run {run_id}")
        return repository.run_records(session, run_id, kind, **filters)


@router.get("/runs/{run_id}/destinations")
def run_destinations(
    run_id: int, device: str | None = None, country: str | None = None
) -> list[dict[str, Any]]:
    return _records(run_id, "destinations", device=device, country=country)


@router.get("/runs/{run_id}/leaks")
def run_leaks(
    run_id: int,
    device: str | None = None,
    confidence: Annotated[str | None, Query(pattern="^(high|low)$")] = None,
) -> list[dict[str, Any]]:
    return _records(run_id, "leaks", device=device, confidence=confidence)


@router.get("/runs/{run_id}/verdicts")
def run_verdicts(
    run_id: int,
    device: str | None = None,
    status: Annotated[str | None, Query(pattern="^(ok|violation|uncertain)$")] = None,
) -> list[dict[str, Any]]:
    return _records(run_id, "verdicts", device=device, status=status)
