"""Inventory management for the console under /api/v1/provisioning (never returns a secret).

Every list is paged as console/pagination.py says (`limit`, `cursor`, the next page in a `Link` header).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from phonewarden.console.auth import ApiActor
from phonewarden.console.pagination import PAGED, Paging
from phonewarden.provisioning.inventory import Inventory, InventoryError
from phonewarden.provisioning.models import ProvEvent
from phonewarden.provisioning.secrets_box import SecretKeyError, load_box
from phonewarden.settings import load_settings
from phonewarden.store.engine import make_engine, session_factory

router = APIRouter()


@lru_cache(maxsize=1)
def inventory() -> Inventory:
    """The inventory of the running settings; tests and the console may override this dependency."""
    settings = load_settings()
    try:
        box = load_box(settings.provisioning, settings.data_dir)
    except SecretKeyError as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from None
    return Inventory(make_engine(settings.database_url), box, settings.provisioning)


Inv = Annotated[Inventory, Depends(inventory)]


class NewDevice(BaseModel):
    mac: str
    vendor: str
    model: str
    site: str
    owner: str = ""
    lines: list[tuple[str, str]] = Field(min_length=1)


class Reassign(BaseModel):
    owner: str
    site: str | None = None


def _call(action: Any) -> Any:
    try:
        return action()
    except (InventoryError, ValueError) as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


def _named(item: dict[str, Any], field: str) -> tuple[str]:
    return (str(item[field]),)


@router.get("/sites", responses=PAGED)
def sites(inv: Inv, page: Paging) -> list[dict[str, Any]]:
    """By name."""
    return page.of_list(inv.sites(), lambda site: _named(site, "name"))


@router.get("/devices", responses=PAGED)
def devices(
    inv: Inv,
    page: Paging,
    site: Annotated[str | None, Query(max_length=255)] = None,
    state: Annotated[str | None, Query(pattern="^(active|retired)$")] = None,
) -> list[dict[str, Any]]:
    """By MAC address."""
    found: list[dict[str, Any]] = _call(lambda: inv.devices(site))
    chosen = [device for device in found if state is None or device["state"] == state]
    return page.of_list(chosen, lambda device: _named(device, "mac"))


@router.post("/devices", status_code=201)
def add_device(inv: Inv, body: NewDevice) -> dict[str, Any]:
    return _call(lambda: inv.add_device(body.mac, body.vendor, body.model, body.site, body.owner, body.lines))  # type: ignore[no-any-return]


@router.get("/devices/{mac}")
def show(inv: Inv, mac: str) -> dict[str, Any]:
    return _call(lambda: inv.show(mac))  # type: ignore[no-any-return]


@router.post("/devices/{mac}/retire")
def retire(inv: Inv, mac: str, actor: ApiActor) -> dict[str, Any]:
    return _call(lambda: inv.retire(mac, f"api, by {actor.name}"))  # type: ignore[no-any-return]


@router.post("/devices/{mac}/reassign")
def reassign(inv: Inv, mac: str, body: Reassign) -> dict[str, Any]:
    return _call(lambda: inv.reassign(mac, body.owner, body.site))  # type: ignore[no-any-return]


@router.post("/devices/{mac}/open")
def open_window(inv: Inv, mac: str, hours: float | None = None) -> dict[str, Any]:
    return _call(lambda: inv.open_window(mac, hours))  # type: ignore[no-any-return]


FETCH_OUTCOMES = {"served": "fetch", "denied": "deny"}  # what the device plane writes per config fetch


@router.get("/events", responses=PAGED)
def events(
    inv: Inv,
    page: Paging,
    mac: Annotated[str | None, Query(max_length=17)] = None,
    outcome: Annotated[str | None, Query(pattern="^(served|denied)$", description="config fetches")] = None,
    action: Annotated[str | None, Query(max_length=32, description="fetch, deny, add, retire, ...")] = None,
) -> list[dict[str, Any]]:
    """The decision log, newest first: every fetch allowed or denied with its reason, every change."""
    query = select(ProvEvent)
    if mac:
        query = query.where(ProvEvent.mac == mac.lower().replace(":", "").replace("-", ""))
    if outcome is not None:
        query = query.where(ProvEvent.action == FETCH_OUTCOMES[outcome])
    if action is not None:
        query = query.where(ProvEvent.action == action)
    with session_factory(inv.engine)() as session:
        found = page.finish(list(session.scalars(page.keyset(query, ProvEvent.id))), lambda e: (e.id,))
        return [
            {"time": e.time.isoformat().replace("+00:00", "Z"), "action": e.action, "mac": e.mac,
             "source": e.source, "reason": e.reason, "detail": e.detail}
            for e in found
        ]  # fmt: skip
