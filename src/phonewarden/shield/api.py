"""The shield's HTTP API under /api/v1/shield: the ban list and an APIBAN-like feed for other edges.

GET /bans                    active bans with reasons and expiry (JSON), paged (console/pagination.py),
                             `network=` keeps the bans overlapping an address or network
POST /bans                   {address, minutes, reason}: an operator's ban, as on the /shield/bans page
DELETE /bans/{address:path}  unban (an IPv6 ban key is a /64, hence :path)
GET /feed.txt                one banned address or network per line (for ipset/nftables loaders)
GET /feed.json               {"ipaddress": [...], "ID": "<newest ban time>"} like APIBAN's /banned

The feeds stay whole lists: edges load them at once. Changes reach the running shield's enforcers
(live.impose / live.lift); the console's api_auth middleware writes them to the audit log.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from phonewarden.console.auth import ApiActor, note_for_audit
from phonewarden.console.pagination import PAGED, Paging
from phonewarden.settings import Settings, load_settings
from phonewarden.shield import live
from phonewarden.shield.bans import BanRow, BanStore
from phonewarden.shield.enforce import canonical, check_duration, clean_reason
from phonewarden.shield.policy import Policy
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


IpFilter = Annotated[
    str | None,
    Query(max_length=64, description="only bans overlapping this address or network, e.g. 203.0.113.0/24"),
]
MAX_MINUTES = 30 * 24 * 60  # as on the /shield/bans page


class NewBan(BaseModel):
    address: str = Field(max_length=64, description="an IP address or CIDR network")
    minutes: int = Field(ge=1, le=MAX_MINUTES)
    reason: str = Field(default="", max_length=200)


def _overlapping(network: str | None) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if network is None:
        return None
    try:
        return ipaddress.ip_network(network.strip(), strict=False)
    except ValueError:
        raise HTTPException(422, f"network: {network!r} is not an IP address or CIDR network") from None


def _ban_key(row: BanRow) -> tuple[float, str]:
    return (-row.expires_at.timestamp(), row.address)  # the longest-lasting first, as before paging


@router.get("/bans", responses=PAGED)
def list_bans(store: Store, page: Paging, network: IpFilter = None) -> dict[str, Any]:
    """`count` is every active ban matching the filter; `bans` is this page of them."""
    now, wanted = datetime.now(UTC), _overlapping(network)
    rows = _active(store)
    if wanted is not None:
        rows = [row for row in rows if ipaddress.ip_network(row.address).overlaps(wanted)]
    return {"count": len(rows), "bans": [row.to_json(now) for row in page.of_list(rows, _ban_key)]}


@router.post("/bans", status_code=201)
def ban(request: Request, store: Store, body: NewBan, actor: ApiActor) -> dict[str, Any]:
    """Ban by hand, never an address the shield may not block (never_block settings, `shield allow`)."""
    try:
        key = canonical(body.address)
        duration_s = check_duration(body.minutes * 60)
    except ValueError as exc:
        raise HTTPException(422, f"cannot ban {body.address!r}: {exc}") from None
    note_for_audit(request, address=key)
    try:
        protected = Policy(_settings(request).shield, store.allowed()).never_blocked(key)
        if protected is not None:
            raise HTTPException(409, f"{key} lies in {protected}, which the shield never blocks")
        why = clean_reason(f"manual by {actor.name}: {body.reason.strip() or 'no reason given'}")
        row = store.save_ban(key, duration_s, [why], 1)
    except StoreError as exc:
        raise HTTPException(503, str(exc)) from None
    live.impose(store.engine, key, duration_s, why)  # the running shield's enforcers drop it now
    return row.to_json(datetime.now(UTC))


@router.delete("/bans/{address:path}", status_code=204)
def unban(request: Request, store: Store, address: str) -> Response:
    try:
        key = canonical(address)
    except ValueError as exc:
        raise HTTPException(422, f"cannot unban {address!r}: {exc}") from None
    note_for_audit(request, address=key)
    try:
        removed = store.remove_ban(key)
    except StoreError as exc:
        raise HTTPException(503, str(exc)) from None
    if not removed:
        raise HTTPException(404, f"{key} is not banned")
    live.lift(store.engine, key)  # the running shield drops the firewall rule and forgets the ban now
    return Response(status_code=204)


def _settings(request: Request) -> Settings:
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, Settings) else load_settings()


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
