"""The console: one FastAPI app that mounts each guard's router and pages.

Guards plug in by shipping `phonewarden/<guard>/api.py` with a FastAPI `router`; the console mounts
whichever are installed under /api/v1/<guard>.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine

from phonewarden import __version__
from phonewarden.capture.hep_listener import HepListener
from phonewarden.capture.live import LiveCapture, LiveFeeder
from phonewarden.guards import GUARDS, LiveGuard, import_guard_module
from phonewarden.settings import Settings
from phonewarden.store.engine import make_engine
from phonewarden.store.migrate import current_revision, head_revision

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _mount_guard_routers(app: FastAPI) -> list[str]:
    mounted = []
    for guard in GUARDS:
        module = import_guard_module(guard, "api")
        if module is None:
            continue
        app.include_router(module.router, prefix=f"/api/v1/{guard}", tags=[guard])
        mounted.append(guard)
    return mounted


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

    app = FastAPI(title="phonewarden", version=__version__, lifespan=lifespan)
    guards = _mount_guard_routers(app)

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

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(
            request,
            "home.html",
            {
                "version": __version__,
                "guards": GUARDS,
                "mounted": guards,
                "hep": listener.stats() if listener is not None else None,
            },
        )

    return app
