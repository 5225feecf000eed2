"""`serve` hook: SIP records from the HEP listener drive the live-call detectors of the shared service."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy import Engine

from phonewarden.alerts import routing
from phonewarden.fraud.service import FraudService, get_service
from phonewarden.settings import Settings

log = logging.getLogger(__name__)


SYNC_SECONDS = 5.0


class FraudLive:
    """Feeds SIP records to the service; a thread applies lifts made with the CLI every few seconds."""

    def __init__(self, service: FraudService) -> None:
        self.service = service
        self.records = 0
        self._stop = threading.Event()
        self._sync = threading.Thread(target=self._sync_loop, name="fraud-sync", daemon=True)
        self._sync.start()

    def _sync_loop(self) -> None:
        while not self._stop.wait(SYNC_SECONDS):
            try:
                self.service.sync_lifts()
                self.service.refresh_findings(time.time())
            except Exception:  # a broken database must not end the thread; the next round retries
                log.exception("fraud: sync with the store failed")

    def on_record(self, record: Any) -> None:
        if getattr(record, "type", None) != "sip":
            return
        self.records += 1
        for output in self.service.on_sip(record):
            log.warning("fraud %s: %s", output.type, output.to_json())

    async def stop(self) -> None:
        self._stop.set()
        self._sync.join(SYNC_SECONDS + 5)
        if self.service.outbox is not None:
            routing.release(self.service.outbox)


def start(settings: Settings, engine: Engine) -> FraudLive:
    # Alerts go through the shared router: [alerts] rules plus the legacy [fraud] alert_* route.
    return FraudLive(get_service(settings.fraud, engine, routing.acquire(settings)))
