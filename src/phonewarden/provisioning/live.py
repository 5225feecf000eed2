"""The device plane inside `phonewarden serve`: when `[provisioning] enabled = true`, its HTTPS server
runs as a task on the console's event loop, on its own port. It takes no records from the HEP feed."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import Engine

from phonewarden.provisioning.server import EmbeddedServer, ProvisioningApp, build_service, uvicorn_config
from phonewarden.provisioning.service import ProvisioningService
from phonewarden.settings import Settings

log = logging.getLogger(__name__)


class LiveProvisioning:
    def __init__(self, server: EmbeddedServer | None, service: ProvisioningService | None) -> None:
        self.server = server
        self.service = service
        self.task: asyncio.Task[None] | None = None
        if server is not None:
            self.task = asyncio.get_running_loop().create_task(server.serve())

    def metrics(self) -> dict[str, float]:
        """For /metrics: the decision log's write queue and what it dropped when full."""
        events = self.service.events if self.service is not None else None
        if events is None:
            return {}
        return {"queue_depth": float(events.queue.qsize()), "dropped": float(events.dropped)}

    def on_record(self, record: Any) -> None:
        """Provisioning decides on HTTPS fetches, not on captured records."""

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            await asyncio.wait_for(self.task, 15.0)
        if self.service is not None:
            await asyncio.to_thread(self.service.close)  # pending fetch counts, decision log


def start(settings: Settings, engine: Engine) -> LiveProvisioning:
    """Start the server when enabled; a missing key or certificate stops `serve` with the reason."""
    if not settings.provisioning.enabled:
        return LiveProvisioning(None, None)
    service, _ = build_service(settings, engine)
    server = EmbeddedServer(uvicorn_config(settings, ProvisioningApp(service)))
    log.info("provisioning: device plane on %s:%d", settings.provisioning.host, settings.provisioning.port)
    return LiveProvisioning(server, service)
