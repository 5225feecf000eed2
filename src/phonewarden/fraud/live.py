"""`serve` hook: SIP records from the HEP listener, followed CDR files and the clock drive the shared service.

One thread does what must happen without a request: every POLL_SECONDS it reads what was appended to
`[fraud] cdr_files` (cdr_follow.py); every TICK_SECONDS it runs the clock-driven checks (ack deadlines,
live spend, long risky calls), which otherwise would wait for the next record; every SYNC_SECONDS it
applies lifts made with the CLI and pulls new shield findings.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from phonewarden.alerts import routing
from phonewarden.fraud.cdr import Cdr
from phonewarden.fraud.cdr_follow import CdrFollower, follower_for
from phonewarden.fraud.engine import Output
from phonewarden.fraud.service import FraudService, get_service, ingest_running, on_sip_running, tick_running
from phonewarden.settings import Settings

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
TICK_SECONDS = 5.0
SYNC_SECONDS = 5.0


class FraudLive:
    """Feeds SIP records and CDR files to the service; one thread polls files, ticks and syncs."""

    def __init__(
        self,
        service: FraudService,
        data_dir: Path | None = None,
        poll_seconds: float = POLL_SECONDS,
        tick_seconds: float = TICK_SECONDS,
    ) -> None:
        self.service = service
        self.records = 0
        # Hung-up live calls count as estimated CDRs until their CDR replaces them (live_calls.py).
        service.engine.live.book_estimates = True
        self.follower: CdrFollower | None = None
        if service.settings.cdr_files:
            if data_dir is None:
                raise ValueError("[fraud] cdr_files needs a data_dir to keep the read positions in")
            self.follower = follower_for(service.settings, data_dir, self._ingest)
        self.poll_seconds = poll_seconds
        self.tick_seconds = tick_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="fraud-live", daemon=True)
        self._thread.start()

    def _ingest(self, cdrs: list[Cdr]) -> None:
        self._log(ingest_running(self.service, cdrs))

    @staticmethod
    def _log(outputs: list[Output]) -> None:
        for output in outputs:
            log.warning("fraud %s: %s", output.type, output.to_json())

    def _loop(self) -> None:
        next_tick = next_sync = time.monotonic()
        while not self._stop.wait(self.poll_seconds):
            now = time.monotonic()
            if self.follower is not None:
                self._guarded("reading CDR files", self.follower.poll)
            if now >= next_tick:
                next_tick = now + self.tick_seconds
                self._guarded("clock tick", lambda: self._log(tick_running(self.service, time.time())))
            if now >= next_sync:
                next_sync = now + SYNC_SECONDS
                self._guarded("sync with the store", self._sync)

    def _sync(self) -> None:
        self.service.sync_lifts()
        self.service.refresh_findings(time.time())

    @staticmethod
    def _guarded(what: str, action: Any) -> None:
        try:
            action()
        except Exception:  # a broken database or file must not end the thread; the next round retries
            log.exception("fraud: %s failed", what)

    def on_record(self, record: Any) -> None:
        if getattr(record, "type", None) != "sip":
            return
        self.records += 1
        self._log(on_sip_running(self.service, record))

    async def stop(self) -> None:
        self._stop.set()
        self._thread.join(max(self.poll_seconds, SYNC_SECONDS) + 5)
        if self.follower is not None:
            self.follower.close()
        if self.service.outbox is not None:
            routing.release(self.service.outbox)


def start(settings: Settings, engine: Engine) -> FraudLive:
    # Alerts go through the shared router: [alerts] rules plus the legacy [fraud] alert_* route.
    service = get_service(settings.fraud, engine, routing.acquire(settings))
    return FraudLive(service, settings.data_dir)
