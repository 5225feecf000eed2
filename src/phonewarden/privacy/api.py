"""HTTP API under /api/v1/privacy: the device inventory (CRUD) and stored analysis results.

Inventory entries take the same JSON objects as the `--devices` file and are validated the same way; a
bad identifier is a 422 naming the field. Results are the records `analyze --json` prints, per run.
Every list is paged as console/pagination.py says (`limit`, `cursor`, the next page in a `Link` header).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from phonewarden.console.pagination import PAGED, Paging
from phonewarden.privacy import repository
from phonewarden.privacy.inventory import InventoryError
from phonewarden.privacy.models import (
    PrivacyDestination,
    PrivacyDevice,
    PrivacyLeak,
    PrivacyRun,
    PrivacyVerdict,
)
from phonewarden.store.engine import RouterEngine, session_factory

router = APIRouter()
DeviceBody = Annotated[dict[str, Any], Body(description="an inventory entry, as in the --devices JSON file")]


_engine = RouterEngine()
use_engine = _engine.use  # the console points the router at its own database; tests at theirs


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


@router.get("/devices", responses=PAGED)
def list_devices(
    page: Paging, kind: Annotated[str | None, Query(max_length=64, description="e.g. smartphone")] = None
) -> list[dict[str, Any]]:
    """By name."""
    query = select(PrivacyDevice)
    if kind is not None:
        query = query.where(PrivacyDevice.kind == kind)
    with _session() as session:
        rows = list(session.scalars(page.keyset(query, PrivacyDevice.name, descending=False)))
        return [_device_json(row) for row in page.finish(rows, lambda row: (row.name,))]


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


@router.get("/runs", responses=PAGED)
def list_runs(page: Paging) -> list[dict[str, Any]]:
    """Newest first."""
    with _session() as session:
        runs = list(session.scalars(page.keyset(select(PrivacyRun), PrivacyRun.id)))
        return [_run_json(run) for run in page.finish(runs, lambda run: (run.id,))]


@router.get("/runs/{run_id}")
def get_run(run_id: int) -> dict[str, Any]:
    with _session() as session:
        run = session.get(PrivacyRun, run_id)
        if run is None:
            raise HTTPException(404, f"no privacy run {run_id}")
        return _run_json(run)


_RECORDS: dict[str, Any] = {
    "destinations": PrivacyDestination,
    "leaks": PrivacyLeak,
    "verdicts": PrivacyVerdict,
}
Device = Annotated[str | None, Query(max_length=255)]
Country = Annotated[str | None, Query(max_length=2, description="ISO 3166 alpha-2")]


def _records(page: Paging, run_id: int, kind: str, **filters: str | None) -> list[dict[str, Any]]:
    """One run's stored records of `kind` in the order they were stored; filters by column."""
    model = _RECORDS[kind]
    query = select(model).where(model.run_id == run_id)
    for column, value in filters.items():
        if value is not None:
            query = query.where(getattr(model, column) == value)
    with _session() as session:
        if session.get(PrivacyRun, run_id) is None:
            raise HTTPException(404, f"no privacy run {run_id}")
        rows = list(session.scalars(page.keyset(query, model.id, descending=False)))
        return [row.record for row in page.finish(rows, lambda row: (row.id,))]


@router.get("/runs/{run_id}/destinations", responses=PAGED)
def run_destinations(
    run_id: int,
    page: Paging,
    device: Device = None,
    country: Country = None,
) -> list[dict[str, Any]]:
    return _records(page, run_id, "destinations", device=device, country=country)


@router.get("/runs/{run_id}/leaks", responses=PAGED)
def run_leaks(
    run_id: int,
    page: Paging,
    device: Device = None,
    confidence: Annotated[str | None, Query(pattern="^(high|low)$")] = None,
) -> list[dict[str, Any]]:
    return _records(page, run_id, "leaks", device=device, confidence=confidence)


@router.get("/runs/{run_id}/verdicts", responses=PAGED)
def run_verdicts(
    run_id: int,
    page: Paging,
    device: Device = None,
    status: Annotated[str | None, Query(pattern="^(ok|violation|uncertain)$")] = None,
) -> list[dict[str, Any]]:
    return _records(page, run_id, "verdicts", device=device, status=status)
