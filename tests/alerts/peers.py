"""Real loopback peers for the alert tests: an HTTP webhook receiver and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from phonewarden.alerts.targets.webhook import SIGNATURE_HEADER


@dataclass
class Hook:
    url: str
    received: list[tuple[bytes, str]] = field(default_factory=list)
    fail_next: int = 0  # answer 503 to this many requests first


def webhook_receiver() -> Iterator[Hook]:
    """An HTTP server on 127.0.0.1 recording each POST body and its signature header."""
    hook = Hook("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            if hook.fail_next > 0:
                hook.fail_next -= 1
                self.send_response(503)
            else:
                hook.received.append((body, self.headers[SIGNATURE_HEADER]))
                self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = HTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hook
    server.shutdown()
    server.server_close()


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: Message


class Mailbox:
    """The handler aiosmtpd calls for each message: keeps what arrived."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.mails.append(Mail(str(envelope.mail_from), list(envelope.rcpt_tos), message_from_bytes(content)))
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on 127.0.0.1:`port`; start/stop to play a relay that goes down and comes back."""

    def __init__(self, port: int, mailbox: Mailbox, tls: ssl.SSLContext | None = None) -> None:
        self.port, self.mailbox, self.tls = port, mailbox, tls
        self.controller: Controller | None = None

    def start(self) -> None:
        kwargs: dict[str, Any] = {"tls_context": self.tls, "require_starttls": True} if self.tls else {}
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
