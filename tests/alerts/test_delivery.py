"""Delivery against real loopback receivers: an HTTP server for the webhook, a UDP socket for syslog."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from phonewarden.alerts.delivery import (
    SIGNATURE_HEADER,
    AckTracker,
    Outbox,
    SyslogTarget,
    WebhookTarget,
    sign,
)

ALERT = {"type": "alert", "account": "acme", "severity": "critical", "reason": "spent EUR 48 in 5 min"}


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[bytes, str]]] = []
    fail_first = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        if _Receiver.fail_first > 0:
            _Receiver.fail_first -= 1
            self.send_response(503)
        else:
            _Receiver.received.append((body, self.headers[SIGNATURE_HEADER]))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.received, _Receiver.fail_first = [], 0
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def test_webhook_signs_and_retries(receiver: str) -> None:
    _Receiver.fail_first = 2
    WebhookTarget(receiver, b"s3cret", retries=3, backoff=0.01).send(ALERT)
    ((body, signature),) = _Receiver.received
    assert json.loads(body) == ALERT and signature == sign(b"s3cret", body)


def test_outbox_keeps_alerts_while_the_target_is_down(tmp_path: Path, receiver: str) -> None:
    down = WebhookTarget("http://127.0.0.1:9/hook", b"k", retries=1, backoff=0.01, timeout=1)
    outbox = Outbox(tmp_path, [down])
    outbox.submit(ALERT)
    assert len(outbox.pending()) == 1
    outbox.targets = [WebhookTarget(receiver, b"k", retries=0)]
    assert outbox.flush() == 0 and len(_Receiver.received) == 1


def test_syslog_rfc5424_over_udp() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        SyslogTarget("127.0.0.1", sock.getsockname()[1]).send(ALERT)
        line = sock.recv(9000).decode()
    assert line.startswith("<130>1 ")  # local0 (16) * 8 + critical (2)
    assert json.loads(line.split(" - alert - ", 1)[1]) == ALERT


def test_ack_tracker_expires_unacknowledged() -> None:
    tracker = AckTracker(900)
    tracker.require("a", ALERT, 0)
    tracker.require("b", ALERT, 0)
    assert tracker.acknowledge("a")
    assert tracker.expired(899) == []
    assert tracker.expired(900) == [ALERT]


def test_targets_from_settings_strings() -> None:
    from phonewarden.alerts.delivery import targets_from

    webhook, syslog = targets_from("http://127.0.0.1:1/h", "k", "[::1]:5514")
    assert isinstance(webhook, WebhookTarget) and isinstance(syslog, SyslogTarget) and syslog.host == "::1"
    with pytest.raises(ValueError, match="needs a secret"):
        targets_from("http://127.0.0.1:1/h", "", "")
    with pytest.raises(ValueError, match="is not host:port"):
        targets_from("", "", "localhost")


def test_background_delivery(tmp_path: Path, receiver: str) -> None:
    import time

    outbox = Outbox(tmp_path, [WebhookTarget(receiver, b"k", retries=0)])
    outbox.start(interval=0.1)
    outbox.submit(ALERT)
    deadline = time.monotonic() + 5
    while _Receiver.received == [] and time.monotonic() < deadline:
        time.sleep(0.02)
    outbox.stop()
    assert len(_Receiver.received) == 1 and outbox.pending() == []
