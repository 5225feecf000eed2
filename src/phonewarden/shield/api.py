"""The shield's HTTP API under /api/v1/shield: the ban list and an APIBAN-like feed for other edges.

GET /bans        active bans with reasons and expiry (JSON)
GET /feed.txt    one banned address or network per line (for ipset/nftables loaders)
GET /feed.json   {"ipaddress": [...], "ID": "<newest ban time>"} like APIBAN's /banned
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import Engine

from phonewarden.settings import Settings, load_settings
from phonewarden.shield.bans import BanRow, BanStore
from phonewarden.store.engine import make_engine
from phonewarden.store.errors import StoreError

router = APIRouter()


class BanStoreDependency:
    """The bans store of the running console: the engine or settings it put on `app.state` (so
    `phonewarden --config X serve` serves X's database), else the engine handed to `use_engine`, else
    the settings from the environment. Stores are cached per engine / database URL."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self._by_engine: dict[int, tuple[Engine, BanStore]] = {}
        self._by_url: dict[str, BanStore] = {}

    def __call__(self, request: Request) -> BanStore:
        state = request.app.state
        engine = getattr(state, "engine", None)
        if not isinstance(engine, Engine):
            engine = getattr(getattr(state, "console", None), "engine", None)
        if not isinstance(engine, Engine):
            engine = self.engine
        if isinstance(engine, Engine):
            cached = self._by_engine.get(id(engine))
            if cached is None or cached[0] is not engine:
                cached = self._by_engine[id(engine)] = (engine, BanStore(engine))
            return cached[1]
        settings = getattr(state, "settings", None)
        url = settings.database_url if isinstance(settings, Settings) else load_settings().database_url
        store = self._by_url.get(url)
        if store is None:
            store = self._by_url[url] = BanStore(make_engine(url))
        return store

    def cache_clear(self) -> None:
        self.engine = None
        self._by_engine.clear()
        self._by_url.clear()


ban_store = BanStoreDependency()


def use_engine(engine: Engine) -> None:
    """Called by the console when it mounts the router: read bans from the console's database."""
    ban_store.engine = engine


Store = Annotated[BanStore, Depends(ban_store)]


def _active(store: BanStore) -> list[BanRow]:
    try:
        return store.active_bans()
    except StoreError as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from None


@router.get("/bans")
def list_bans(store: Store) -> dict[str, Any]:
    now = datetime.now(UTC)
    rows = _active(store)
    return {"count": len(rows), "bans": [row.to_json(now) for row in rows]}


@router.get("/feed.txt", response_class=PlainTextResponse)
def feed_text(store: Store) -> str:
    return "".join(f"{row.address}\n" for row in _active(store))


@router.get("/feed.json")
def feed_json(store: Store) -> dict[str, Any]:
    rows = _active(store)
    newest = max((row.banned_at for row in rows), default=None)
    return {
        "ipaddress": [row.address for row in rows],
        "ID": newest.isoformat().replace("+00:00", "Z") if newest is not None else "none",
    }
