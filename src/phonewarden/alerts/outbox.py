"""One target's outbox: each alert is a file until the target took it, so nothing is lost while the target
is down or phonewarden restarts.

- `add` writes `<folder>/<id>.json` (temporary file, fsync, atomic rename) before anyone tries to deliver.
- A worker thread per target delivers due entries oldest first, one at a time, and removes each file
  once the target accepted it: an alert is not sent twice to a target, unless the process dies between
  the target's answer and the removal (the alert carries `alert_id` for receivers that de-duplicate).
- A failure stores attempts, last error and the next attempt (retry_first_s, doubling to retry_max_s) in
  the entry and holds the target until then; other targets have their own worker and never wait.
- Entries undelivered for dead_letter_days move to `<folder>/dead/`: listed on /alerts/outbox, retried
  only when an operator asks, never deleted by phonewarden.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from phonewarden.alerts.targets import Target

log = logging.getLogger(__name__)
ENTRY_ID = re.compile(r"^[0-9]{20}-[0-9a-f]{8}$")
IDLE_CHECK_S = 60.0  # also picks up entries put back by an operator or dead-letter deadlines
_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def folder_lock(folder: Path) -> threading.Lock:
    """One lock per folder in the process: the worker and the console's retry button share it."""
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(folder.resolve(), threading.Lock())


@dataclass
class Entry:
    id: str
    alert: dict[str, Any]
    since: float  # when delivery began (or an operator asked again): dead-letter age counts from here
    next_attempt: float
    attempts: int = 0
    last_error: str = ""
    dead: bool = field(default=False, compare=False)

    def to_file(self) -> dict[str, Any]:
        record = asdict(self)
        record.pop("dead")
        return record


def _write(path: Path, entry: Entry) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(entry.to_file(), handle, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)  # a crash leaves the old entry or the new one, never half of one


def _read(path: Path, dead: bool) -> Entry | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return Entry(**record, dead=dead)
    except FileNotFoundError:
        return None  # delivered meanwhile
    except (OSError, ValueError, TypeError) as exc:
        log.error("alerts outbox: %s is not an outbox entry (%s); left in place", path, exc)
        return None


class Outbox:
    def __init__(
        self,
        folder: Path,
        target: Target | None,
        *,
        retry_first_s: float = 30.0,
        retry_max_s: float = 3600.0,
        dead_letter_days: float = 3.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.folder, self.dead_folder = folder, folder / "dead"
        self.target = target  # None: only look at and re-queue entries (the console without a worker)
        self.retry_first_s, self.retry_max_s = retry_first_s, retry_max_s
        self.dead_after_s = dead_letter_days * 86400
        self.clock = clock
        self.lock = folder_lock(folder)
        self.hold_until = 0.0  # after a failure, the target is left alone until its entry is due again
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.dead_folder.mkdir(parents=True, exist_ok=True)

    # Entries ---------------------------------------------------------------------------------------

    def add(self, alert: dict[str, Any]) -> Entry:
        now = self.clock()
        entry = Entry(f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}", alert, since=now, next_attempt=now)
        with self.lock:
            _write(self.folder / f"{entry.id}.json", entry)
        self._wake.set()
        return entry

    def pending(self) -> list[Entry]:
        return self._entries(self.folder, dead=False)

    def dead_letters(self) -> list[Entry]:
        return self._entries(self.dead_folder, dead=True)

    def _entries(self, folder: Path, dead: bool) -> list[Entry]:
        found = (_read(path, dead) for path in sorted(folder.glob("*.json")))
        return [entry for entry in found if entry is not None]

    def retry_now(self, entry_id: str) -> bool:
        """Due at once (a dead letter goes back to the queue with a fresh dead-letter age); False if gone."""
        if not ENTRY_ID.match(entry_id):
            return False
        now = self.clock()
        with self.lock:
            for folder, dead in ((self.folder, False), (self.dead_folder, True)):
                entry = _read(folder / f"{entry_id}.json", dead)
                if entry is None:
                    continue
                entry.next_attempt = now
                if dead:
                    entry.since = now
                _write(self.folder / f"{entry_id}.json", entry)
                if dead:
                    (self.dead_folder / f"{entry_id}.json").unlink(missing_ok=True)
                self.hold_until = 0.0
                self._wake.set()
                return True
        return False

    # Delivery --------------------------------------------------------------------------------------

    def deliver_due(self) -> float | None:
        """Deliver what is due, oldest first, stopping at the first failure. Returns the seconds until
        the next entry is due (None: nothing waiting)."""
        assert self.target is not None, "an outbox without a target only lists entries"
        now = self.clock()
        if now < self.hold_until:
            return self.hold_until - now
        waits = []
        for entry in self.pending():
            if now - entry.since >= self.dead_after_s and entry.attempts:
                self._bury(entry)
                continue
            if entry.next_attempt > now:
                waits.append(entry.next_attempt - now)
                continue
            if not self._attempt(entry, now):
                return self.hold_until - now
            now = self.clock()
        return min(waits) if waits else None

    def _attempt(self, entry: Entry, now: float) -> bool:
        assert self.target is not None
        path = self.folder / f"{entry.id}.json"
        try:
            self.target.send(entry.alert)
        except Exception as exc:  # any failure of a target keeps the alert; the error is shown to operators
            entry.attempts += 1
            delay = min(self.retry_first_s * 2 ** (entry.attempts - 1), self.retry_max_s)
            entry.next_attempt = now + delay
            entry.last_error = f"{type(exc).__name__}: {exc}"[:500]
            with self.lock:
                if path.exists():  # not delivered or re-queued by someone else meanwhile
                    _write(path, entry)
            self.hold_until = entry.next_attempt
            log.warning("alerts %s: delivery failed (%s); next try in %.0f s", self.target.name, exc, delay)
            return False
        with self.lock:
            path.unlink(missing_ok=True)
        return True

    def _bury(self, entry: Entry) -> None:
        with self.lock:
            _write(self.dead_folder / f"{entry.id}.json", entry)
            (self.folder / f"{entry.id}.json").unlink(missing_ok=True)
        name = self.target.name if self.target else self.folder.name
        log.error("alerts %s: alert %s undelivered after %d tries, set aside", name, entry.id, entry.attempts)

    # Worker ----------------------------------------------------------------------------------------

    def start(self) -> None:
        def run() -> None:
            while not self._stop.is_set():
                try:
                    wait = self.deliver_due()
                except Exception:  # a broken disk must not end the worker; the next round tries again
                    log.exception("alerts outbox %s: delivery round failed", self.folder)
                    wait = IDLE_CHECK_S
                self._wake.wait(min(wait, IDLE_CHECK_S) if wait is not None else IDLE_CHECK_S)
                self._wake.clear()

        self._thread = threading.Thread(target=run, name=f"alerts-{self.folder.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
