"""The HTTPS device plane: a small ASGI app in front of `ProvisioningService`, run by uvicorn with TLS and
optional client certificates (verified against `client_ca`; the gate decides per site whether one is
required). uvicorn does not put the peer certificate into the ASGI scope, so `CertH11Protocol` adds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import Engine
from uvicorn.protocols.http.h11_impl import H11Protocol

from phonewarden.provisioning.bans import ShieldBans
from phonewarden.provisioning.eventlog import EventLog
from phonewarden.provisioning.inventory import Inventory
from phonewarden.provisioning.kamailio import KamailioCredentials
from phonewarden.provisioning.secrets_box import load_box
from phonewarden.provisioning.service import DENIED, Fetch, ProvisioningService, Response
from phonewarden.settings import Settings

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
CERT_SCOPE_KEY = "phonewarden.client_cert_der"
MAX_PATH = 512


class ServerSetupError(Exception):
    """The device plane cannot start; the message names the setting to fix."""


def _with_cert(app: Any, transport: asyncio.Transport) -> Any:
    ssl_object = transport.get_extra_info("ssl_object")
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None

    async def with_cert(scope: Scope, receive: Receive, send: Send) -> None:
        scope[CERT_SCOPE_KEY] = der
        await app(scope, receive, send)

    return with_cert


class CertH11Protocol(H11Protocol):
    """h11 protocol that hands the verified client certificate (DER) to the app in every request scope."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.app = _with_cert(self.app, transport)


try:  # httptools (C parser) is about 3x faster than h11 for this small request/response pattern
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class CertHttpToolsProtocol(HttpToolsProtocol):
        """The same for uvicorn's httptools protocol."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.app = _with_cert(self.app, transport)

    HTTP_PROTOCOL: type[asyncio.Protocol] = CertHttpToolsProtocol
except ImportError:  # pragma: no cover - httptools not installed
    HTTP_PROTOCOL = CertH11Protocol


class ProvisioningApp:
    def __init__(self, service: ProvisioningService) -> None:
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope.get("path", "")
        if scope["method"] not in ("GET", "HEAD") or len(path) > MAX_PATH:
            response = DENIED
        else:
            client = scope.get("client") or ("", 0)
            fetch = Fetch(client[0], path, scope["method"], headers.get("user-agent", ""),
                          headers.get("authorization"), scope.get(CERT_SCOPE_KEY))  # fmt: skip
            response = self.service.handle(fetch)
        await _send(send, response, scope["method"] == "HEAD")


async def _send(send: Send, response: Response, head: bool) -> None:
    headers = [
        (b"content-type", response.content_type.encode()),
        (b"content-length", str(len(response.body)).encode()),
    ]
    headers += [(k.encode(), v.encode()) for k, v in response.headers]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else response.body})


def build_service(settings: Settings, engine: Engine) -> tuple[ProvisioningService, EventLog]:
    """The service with its inventory, shield bans and decision log; SecretKeyError without a key."""
    prov = settings.provisioning
    box = load_box(prov, settings.data_dir)
    pbx = KamailioCredentials(prov.kamailio_rpc_url, prov.kamailio_htable) if prov.kamailio_rpc_url else None
    inventory = Inventory(engine, box, prov, pbx)
    events = EventLog(engine)
    bans = ShieldBans(settings.shield, engine, max_sources=prov.max_sources)
    return ProvisioningService(inventory, prov, bans=bans, events=events, engine=engine), events


def _existing(path: Path | None, name: str) -> str | None:
    if path is None:
        return None
    if not path.is_file():
        raise ServerSetupError(f"[provisioning] {name} = {str(path)!r}: no such file")
    return str(path)


def uvicorn_config(settings: Settings, app: ProvisioningApp) -> uvicorn.Config:
    prov = settings.provisioning
    cert, key = _existing(prov.certificate, "certificate"), _existing(prov.private_key, "private_key")
    client_ca = _existing(prov.client_ca, "client_ca")
    if (cert is None or key is None) and not prov.demo:
        raise ServerSetupError(
            "[provisioning] certificate and private_key are required: configs carry SIP credentials "
            "and are served over HTTPS only (plain HTTP only with demo = true)"
        )
    tls: dict[str, Any] = {}
    if cert is not None and key is not None:
        tls = {"ssl_certfile": cert, "ssl_keyfile": key}
        if client_ca is not None:
            # OPTIONAL: a certificate is verified when sent; whether one is required is the site's rule.
            tls.update(ssl_ca_certs=client_ca, ssl_cert_reqs=ssl.CERT_OPTIONAL)
    return uvicorn.Config(
        app, host=prov.host, port=prov.port, http=HTTP_PROTOCOL, lifespan="off", proxy_headers=False,
        access_log=False, log_level=settings.log_level, timeout_keep_alive=30,
        timeout_graceful_shutdown=5, **tls,
    )  # fmt: skip


class StandaloneServer(uvicorn.Server):
    """`provision serve`: closes the service (pending fetch counts, decision log) as part of shutdown,
    before uvicorn re-raises SIGTERM/SIGINT and the process ends."""

    def __init__(self, config: uvicorn.Config, service: ProvisioningService) -> None:
        super().__init__(config)
        self.service = service

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets)
        await asyncio.to_thread(self.service.close)


class EmbeddedServer(uvicorn.Server):
    """Inside `phonewarden serve`: the console owns the signals, so this server does not capture them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
