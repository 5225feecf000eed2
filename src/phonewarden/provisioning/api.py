"""Inventory management for the console under /api/v1/provisioning (never returns a secret)."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select

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


@router.get("/sites")
def sites(inv: Inv) -> list[dict[str, Any]]:
    return inv.sites()


@router.get("/devices")
def devices(inv: Inv, site: str | None = None) -> list[dict[str, Any]]:
    return _call(lambda: inv.devices(site))  # type: ignore[no-any-return]


@router.post("/devices", status_code=201)
def add_device(inv: Inv, body: NewDevice) -> dict[str, Any]:
    return _call(lambda: inv.add_device(body.mac, body.vendor, body.model, body.site, body.owner, body.lines))  # type: ignore[no-any-return]


@router.get("/devices/{mac}")
def show(inv: Inv, mac: str) -> dict[str, Any]:
    return _call(lambda: inv.show(mac))  # type: ignore[no-any-return]


@router.post("/devices/{mac}/retire")
def retire(inv: Inv, mac: str) -> dict[str, Any]:
    return _call(lambda: inv.retire(mac, "console"))  # type: ignore[no-any-return]


@router.post("/devices/{mac}/reassign")
def reassign(inv: Inv, mac: str, body: Reassign) -> dict[str, Any]:
    return _call(lambda: inv.reassign(mac, body.owner, body.site))  # type: ignore[no-any-return]


@router.post("/devices/{mac}/open")
def open_window(inv: Inv, mac: str, hours: float | None = None) -> dict[str, Any]:
    return _call(lambda: inv.open_window(mac, hours))  # type: ignore[no-any-return]


@router.get("/events")
def events(inv: Inv, mac: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The decision log, newest first: every fetch allowed or denied with its reason, every change."""
    limit = max(1, min(limit, 10_000))
    with session_factory(inv.engine)() as session:
        query = select(ProvEvent).order_by(ProvEvent.id.desc()).limit(limit)
        if mac:
            query = query.where(ProvEvent.mac == mac.lower().replace(":", ""))
        return [
            {"time": e.time.isoformat().replace("+00:00", "Z"), "action": e.action, "mac": e.mac,
             "source": e.source, "reason": e.reason, "detail": e.detail}
            for e in session.scalars(query)
        ]  # fmt: skip
