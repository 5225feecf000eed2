"""Small delivery interface: targets (webhook with HMAC-SHA256, syslog RFC 5424/UDP), a file outbox so
nothing is lost while a target is down, and acknowledgement deadlines (auto-action if nobody acks).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

SIGNATURE_HEADER = "X-Phonewarden-Signature"
SEVERITY_TO_SYSLOG = {"critical": 2, "high": 3, "medium": 4, "low": 5, "info": 6}


class Target(Protocol):
    name: str

    def send(self, alert: dict[str, Any]) -> None:
        """Deliver or raise OSError."""


def targets_from(webhook_url: str, webhook_secret: str, syslog: str) -> list[Target]:
    """Targets from settings strings: a webhook URL (+ HMAC secret) and/or syslog "host:port"."""
    targets: list[Target] = []
    if webhook_url:
        if not webhook_secret:
            raise ValueError("a webhook needs a secret to sign with (alert_webhook_secret)")
        targets.append(WebhookTarget(webhook_url, webhook_secret.encode()))
    if syslog:
        host, _, port = syslog.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"syslog target {syslog!r} is not host:port")
        targets.append(SyslogTarget(host.strip("[]"), int(port)))
    return targets


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


@dataclass
class WebhookTarget:
    """POST the alert as JSON; the receiver checks `X-Phonewarden-Signature: sha256=<hex HMAC of body>`."""

    url: str
    secret: bytes
    retries: int = 3
    backoff: float = 0.5  # seconds, doubled after each failed try
    timeout: float = 5.0
    name: str = "webhook"

    def send(self, alert: dict[str, Any]) -> None:
        body = json.dumps(alert, sort_keys=True).encode()
        headers = {"content-type": "application/json", SIGNATURE_HEADER: sign(self.secret, body)}
        delay, last_error = self.backoff, None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(delay)
                delay *= 2
            try:
                request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    if 200 <= response.status < 300:
                        return
            except (urllib.error.URLError, OSError) as exc:
                last_error = exc
        raise OSError(f"webhook {self.url} failed after {self.retries + 1} tries: {last_error}")


@dataclass
class SyslogTarget:
    """RFC 5424 over UDP: facility local0, severity from the alert, structured data off, JSON message."""

    host: str
    port: int = 514
    app_name: str = "phonewarden"
    name: str = "syslog"

    def send(self, alert: dict[str, Any]) -> None:
        priority = 16 * 8 + SEVERITY_TO_SYSLOG.get(str(alert.get("severity")), 5)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        host = socket.gethostname() or "-"
        message = json.dumps(alert, sort_keys=True)
        line = f"<{priority}>1 {stamp} {host} {self.app_name} - {alert.get('type', 'alert')} - {message}"
        with socket.socket(
            socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_DGRAM
        ) as sock:
            sock.sendto(line.encode()[:8192], (self.host, self.port))


class Outbox:
    """Each alert is written to `folder` before delivery and removed once every target took it."""

    def __init__(self, folder: Path, targets: list[Target]) -> None:
        self.folder = folder
        self.targets = targets
        folder.mkdir(parents=True, exist_ok=True)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, interval: float = 30.0) -> None:
        """Deliver in a background thread: on each submit, and every `interval` s for what is still due."""

        def run() -> None:
            while not self._stop.is_set():
                self._wake.wait(interval)
                self._wake.clear()
                self.flush()

        self._thread = threading.Thread(target=run, name="alerts-outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)

    def submit(self, alert: dict[str, Any]) -> Path:
        path = self.folder / f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.json"
        pending = {"alert": alert, "targets": [target.name for target in self.targets]}
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(pending))
        temporary.replace(path)  # atomic: a crash leaves either nothing or a whole entry
        if self._thread is None:
            self.flush()
        else:
            self._wake.set()  # the caller (an API worker, the event loop) never waits for a target
        return path

    def pending(self) -> list[Path]:
        return sorted(self.folder.glob("*.json"))

    def flush(self) -> int:
        """Try every pending entry on the targets it still needs; return how many remain."""
        by_name = {target.name: target for target in self.targets}
        for path in self.pending():
            try:
                entry = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # removed by a concurrent flush, or not ours
            remaining = []
            for name in entry["targets"]:
                try:
                    by_name[name].send(entry["alert"])
                except (OSError, KeyError):
                    remaining.append(name)
            if remaining:
                entry["targets"] = remaining
                path.write_text(json.dumps(entry))
            else:
                path.unlink(missing_ok=True)
        return len(self.pending())


class AckTracker:
    """Alerts that need a person: `expired(now)` returns those unacknowledged past their deadline."""

    def __init__(self, timeout_seconds: float) -> None:
        self.timeout = timeout_seconds
        self.waiting: dict[str, tuple[float, dict[str, Any]]] = {}

    def require(self, key: str, alert: dict[str, Any], now: float) -> None:
        self.waiting.setdefault(key, (now + self.timeout, alert))

    def acknowledge(self, key: str) -> bool:
        return self.waiting.pop(key, None) is not None

    def expired(self, now: float) -> list[dict[str, Any]]:
        due = [key for key, (deadline, _) in self.waiting.items() if deadline <= now]
        return [self.waiting.pop(key)[1] for key in due]
