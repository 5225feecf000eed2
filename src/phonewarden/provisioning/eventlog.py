"""The decision log: every fetch decision and inventory change, written to `prov_events` by one thread.

The HTTPS handler only enqueues (bounded); the writer inserts in batches, so 10,000 denied requests of an
enumeration run cost the event loop nothing and the database a few transactions. Secrets never enter it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert

from phonewarden.provisioning.models import ProvEvent
from phonewarden.store.engine import session_factory

log = logging.getLogger(__name__)
BATCH = 500
LINGER_S = 0.2  # gather a batch for this long: one transaction per batch, not per event
_STOP = object()


@dataclass(frozen=True, slots=True)
class Event:
    time: float
    action: str
    mac: str = ""
    source: str = ""
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {
            "time": datetime.fromtimestamp(self.time, UTC),
            "action": self.action,
            "mac": self.mac,
            "source": self.source,
            "reason": self.reason,
            "detail": self.detail,
        }


class EventLog:
    def __init__(self, engine: Engine, max_queue: int = 100_000) -> None:
        self.engine = engine
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self.dropped = 0
        self.written = 0
        self._idle = threading.Event()
        self._thread = threading.Thread(target=self._work, name="provisioning-log", daemon=True)
        self._thread.start()

    def add(self, event: Event) -> None:
        self._idle.clear()
        try:
            self.queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything enqueued so far is written (tests, shutdown)."""
        self.queue.put(None)
        self._idle.wait(timeout)

    def close(self) -> None:
        self.queue.put(_STOP)
        self._thread.join(10.0)

    def _work(self) -> None:
        flush_asked = False
        while True:
            item = self.queue.get()
            batch: list[Event] = []
            stop = item is _STOP
            markers = item is None
            if isinstance(item, Event):
                batch.append(item)
            deadline = time.monotonic() + LINGER_S
            while len(batch) < BATCH and not stop and not markers:
                try:
                    more = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                elif more is None:
                    markers = True
                else:
                    batch.append(more)
            if batch:
                self._write(batch)
            flush_asked = flush_asked or markers
            if flush_asked and self.queue.empty():
                flush_asked = False
                self._idle.set()
            if stop:
                self._idle.set()
                return

    def _write(self, batch: list[Event]) -> None:
        try:
            with session_factory(self.engine).begin() as session:
                session.execute(insert(ProvEvent), [event.row() for event in batch])
            self.written += len(batch)
        except Exception:
            log.exception("provisioning: could not write %d decision log rows", len(batch))
