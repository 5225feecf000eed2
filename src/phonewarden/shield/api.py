"""The shield's HTTP API under /api/v1/shield: the ban list and an APIBAN-like feed for other edges.

GET /bans        active bans with reasons and expiry (JSON)
GET /feed.txt    one banned address or network per line (for ipset/nftables loaders)
GET /feed.json   {"ipaddress": [...], "ID": "<newest ban time>"} like APIBAN's /banned
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import PlainTextResponse

from phonewarden.settings import load_settings
from phonewarden.shield.bans import BanRow, BanStore
from phonewarden.store.engine import make_engine
from phonewarden.store.errors import StoreError

router = APIRouter()


@lru_cache(maxsize=1)
def ban_store() -> BanStore:
    """The store of the running settings; tests and the console may override this dependency."""
    return BanStore(make_engine(load_settings().database_url))


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
