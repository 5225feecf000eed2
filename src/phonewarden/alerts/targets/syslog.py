"""Syslog, RFC 5424: facility local0, severity from the alert, MSGID the alert's type, the alert as JSON
in MSG. UDP sends one datagram; TCP frames each message with its length (octet counting, RFC 6587)."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SEVERITY_TO_SYSLOG = {"critical": 2, "high": 3, "medium": 4, "low": 5, "info": 6}
LOCAL0 = 16
MAX_UDP = 8192  # what common collectors accept in one datagram


def format_rfc5424(alert: dict[str, Any], app_name: str = "phonewarden") -> bytes:
    priority = LOCAL0 * 8 + SEVERITY_TO_SYSLOG.get(str(alert.get("severity")), 5)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    host = socket.gethostname() or "-"
    msgid = str(alert.get("type", "alert"))[:32].replace(" ", "_") or "-"
    message = json.dumps(alert, sort_keys=True)
    return f"<{priority}>1 {stamp} {host} {app_name} - {msgid} - {message}".encode()


@dataclass
class SyslogTarget:
    host: str
    port: int = 514
    transport: str = "udp"
    timeout: float = 10.0
    name: str = "syslog"

    def send(self, alert: dict[str, Any]) -> None:
        line = format_rfc5424(alert)
        if self.transport == "tcp":
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
                sock.sendall(b"%d %s" % (len(line), line))
            return
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.sendto(line[:MAX_UDP], (self.host, self.port))
