"""The console: one FastAPI app that mounts each guard's router and pages.

Guards plug in by shipping `phonewarden/<guard>/api.py` with a FastAPI `router`; the console mounts
whichever are installed under /api/v1/<guard>, behind operator authentication (see auth.py), and
`phonewarden/<guard>/pages.py` under /<guard> (see shell.py and docs/console.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from phonewarden import __version__
from phonewarden.alerts.routing import outbox_root
from phonewarden.capture.hep_listener import HepListener
from phonewarden.capture.live import LiveCapture, LiveFeeder
from phonewarden.console import api_findings, location_api, location_pages, login_pages, outbox_pages, views
from phonewarden.console.accounts import Accounts
from phonewarden.console.auth import (
    ConsoleContext,
    NotLoggedIn,
    audit_api_call,
    find_principal,
    guard_api_access,
)
from phonewarden.console.metrics import ConsoleCollector, registry_for
from phonewarden.console.policy import ConsolePolicy
from phonewarden.console.secretbox import SecretBox
from phonewarden.console.sessions import SessionStore, TokenStore
from phonewarden.console.shell import mount_guard_pages, render
from phonewarden.guards import GUARDS, LiveGuard, import_guard_module
from phonewarden.settings import Settings
from phonewarden.store.engine import make_engine
from phonewarden.store.migrate import current_revision, head_revision

STATIC = Path(__file__).parent / "static"
_SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def _needs_api_auth(path: str, own_auth: dict[str, frozenset[str]]) -> bool:
    if path == "/metrics":
        return True
    if not path.startswith("/api/"):
        return False
    parts = path.split("/", 4)  # "", "api", "v1", guard, rest
    guard = parts[3] if len(parts) > 3 else ""
    return path.removeprefix(f"/api/v1/{guard}") not in own_auth.get(guard, frozenset())


def _mount_guard_routers(app: FastAPI, engine: Engine) -> list[str]:
    """Include each guard's router; its routes are guarded by the api_auth middleware in create_app."""
    mounted = []
    app.state.self_authenticated = {}
    for guard in GUARDS:
        module = import_guard_module(guard, "api")
        if module is None:
            continue
        if hasattr(module, "use_engine"):  # the router reads the console's database, not its own guess
            module.use_engine(engine)
        own_auth = frozenset(getattr(module, "SELF_AUTHENTICATED", ()))
        app.state.self_authenticated[guard] = own_auth
        app.include_router(module.router, prefix=f"/api/v1/{guard}", tags=[guard])
        mounted.append(guard)
    return mounted


def _console_context(settings: Settings, engine: Engine) -> ConsoleContext:
    policy = ConsolePolicy.from_settings(settings.console)
    accounts = Accounts(engine, SecretBox.in_dir(settings.data_dir), policy)
    return ConsoleContext(engine, accounts, SessionStore(engine, policy), TokenStore(engine), policy)


def _start_live_guards(settings: Settings, engine: Engine) -> list[LiveGuard]:
    started = []
    for guard in GUARDS:
        module = import_guard_module(guard, "live")
        if module is not None:
            started.append(module.start(settings, engine))
    return started


def create_app(settings: Settings, *, start_hep: bool = True) -> FastAPI:
    engine = make_engine(settings.database_url)
    live_guards: list[LiveGuard] = []

    def fan_out(record: Any) -> None:
        for live in live_guards:
            live.on_record(record)

    listener = HepListener(settings.hep, fan_out) if start_hep and settings.hep.enabled else None
    interface = settings.capture.interface
    feeder = (
        LiveFeeder(LiveCapture(interface, settings.capture.bpf_filter, settings.capture.snaplen), fan_out)
        if start_hep and interface
        else None
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        live_guards.extend(_start_live_guards(settings, engine))
        if listener is not None:
            await listener.start()
        if feeder is not None:
            feeder.start(asyncio.get_running_loop())
        try:
            yield
        finally:
            if feeder is not None:
                await asyncio.to_thread(feeder.stop)
            if listener is not None:
                await listener.stop()
            for live in live_guards:
                await live.stop()
            engine.dispose()

    # FastAPI's own /docs loads Swagger UI from a CDN with an inline script: blocked offline and by the CSP.
    app = FastAPI(title="phonewarden", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.console = _console_context(settings, engine)
    app.state.settings = settings  # guard pages read their sections from here
    guards = _mount_guard_routers(app, engine)
    app.state.guard_nav = mount_guard_pages(app)
    app.include_router(login_pages.router)
    app.include_router(views.router)
    app.include_router(location_api.router)  # /api/v1/location, behind the api_auth middleware
    app.include_router(api_findings.router)  # /api/v1/findings, likewise
    app.include_router(location_pages.router)
    app.include_router(outbox_pages.router)  # /alerts/outbox
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def out_of_range(request: Request, exc: Exception) -> Response:
        # A number beyond the database's integer range (e.g. /runs/9223372036854775808) is the client's
        # mistake, not a server error; routers that validate their ranges never get here.
        return JSONResponse({"detail": f"a value in {request.url.path} is out of range"}, status_code=422)

    @app.exception_handler(NotLoggedIn)
    async def to_login(_: Request, __: NotLoggedIn) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.middleware("http")
    async def api_auth(request: Request, call_next: Any) -> Response:
        # Before routing, so that no body validation or 404/405 answers anyone who is not allowed in.
        if not _needs_api_auth(request.url.path, app.state.self_authenticated):
            passed: Response = await call_next(request)
            return passed
        try:
            principal = await guard_api_access(request)
        except HTTPException as exc:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        # Every change through the API that got past auth is in the audit log, whatever the guard.
        try:
            response: Response = await call_next(request)
        except Exception:
            await run_in_threadpool(audit_api_call, request, principal, 500)
            raise
        await run_in_threadpool(audit_api_call, request, principal, response.status_code)
        return response

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers["cache-control"] = "no-store"
        return response

    # Added last, so outermost. The PBX's authorize question skips the console's middlewares (~260 us of
    # CPU a request) and checks its own PBX token (fraud/authorize_http.py).
    authorize = import_guard_module("fraud", "authorize_http") if "fraud" in guards else None
    if authorize is not None:
        app.add_middleware(
            authorize.AuthorizeFirst, path="/api/v1/fraud/authorize", headers=_SECURITY_HEADERS
        )
    if settings.console.trusted_proxies:
        # Only the listed proxies may name the client (X-Forwarded-For) and the scheme (X-Forwarded-Proto);
        # outermost, because the authorize check's loopback rule needs the real client.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.console.trusted_proxies)

    def live_metrics() -> dict[str, dict[str, float]]:
        found = {}
        for live in live_guards:
            metrics = getattr(live, "metrics", None)
            if callable(metrics):
                found[type(live).__module__.split(".")[1]] = metrics()
        return found

    registry = registry_for(
        ConsoleCollector(
            engine,
            lambda: listener.stats() if listener is not None else None,
            lambda: feeder.frames if feeder is not None else None,
            live_metrics,
            outbox_root(settings.data_dir),
        )
    )

    @app.get("/metrics", response_class=Response)
    def metrics() -> Response:
        """Prometheus text format; scrape with an API token (viewer role) as bearer."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/health")
    def health() -> dict[str, Any]:
        revision = current_revision(engine)
        head = head_revision()
        return {
            "status": "ok" if revision == head else "degraded",
            "version": __version__,
            "database": {"revision": revision, "head": head},
            "hep": listener.stats() if listener is not None else None,
            "capture": {"interface": interface, "frames": feeder.frames} if feeder is not None else None,
            "guards": guards,
        }

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def api_docs(request: Request) -> Response:
        """Swagger UI for /openapi.json, vendored in static/swagger-ui (source and licence there)."""
        return render(request, "api_docs.html", {})

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request) -> Response:
        principal = find_principal(request)
        if principal is not None and principal.stage == "full":
            return RedirectResponse("/overview", status_code=303)
        return render(
            request,
            "home.html",
            {
                "guards": GUARDS,
                "mounted": guards,
                "hep": listener.stats() if listener is not None else None,
                "no_users": app.state.console.accounts.count() == 0,
            },
        )

    return app
