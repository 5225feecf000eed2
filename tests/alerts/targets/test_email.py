"""E-mail against a real SMTP server (aiosmtpd on 127.0.0.1): subject, recipients, body; STARTTLS with a
certificate the target must check; a relay that is down keeps the alert in the outbox until it is back."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from phonewarden.alerts.outbox import Outbox
from phonewarden.alerts.settings import EmailTargetSettings
from phonewarden.alerts.targets.email import ID_HEADER, EmailTarget, subject_line
from tests.alerts.peers import Mailbox, SmtpServer
from tests.conftest import free_port
from tests.provisioning.pki import CA

ALERT = {
    "type": "alert", "guard": "fraud", "severity": "critical", "account": "acme", "detector": "cost_window",
    "reason": "spent EUR 48 in 5 min", "time": "2024-05-01T10:00:00Z", "alert_id": "a1b2",
}  # fmt: skip


def _settings(port: int, **extra: object) -> EmailTargetSettings:
    values = {
        "type": "email",
        "host": "127.0.0.1",
        "port": port,
        "security": "plain",
        "from": "pw@example.net",
    }
    values["to"] = ["noc@example.net", "oncall@example.net"]
    return EmailTargetSettings.model_validate({**values, **extra})


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port(), Mailbox())
    server.start()
    yield server
    server.stop()


def test_message_arrives_with_subject_recipients_and_actionable_body(smtp: SmtpServer) -> None:
    EmailTarget(_settings(smtp.port)).send(ALERT)
    (mail,) = smtp.mailbox.mails
    assert mail.sender == "pw@example.net"
    assert mail.recipients == ["noc@example.net", "oncall@example.net"]
    assert mail.message["Subject"] == "[phonewarden] critical fraud: acme: spent EUR 48 in 5 min"
    assert mail.message[ID_HEADER] == "a1b2"
    body = mail.message.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert "What to do:" in body and "/fraud/alerts" in body and "When:  2024-05-01T10:00:00Z" in body
    assert json.loads(body.split("The alert as JSON:\n", 1)[1]) == ALERT


def test_subject_stays_one_short_line() -> None:
    line = subject_line({**ALERT, "reason": "line one\r\nBcc: someone@example.org " + "x" * 300})
    assert "\n" not in line and "\r" not in line and len(line) <= 200


def test_starttls_checks_the_relay_certificate(tmp_path: Path) -> None:
    ca = CA(tmp_path, "Relay CA")
    issued = ca.issue("relay", "relay", server_ip="127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(issued.cert, issued.key)
    server = SmtpServer(free_port(), Mailbox(), tls=context)
    server.start()
    try:
        trusted = _settings(server.port, security="starttls", ca_file=str(ca.issued.cert))
        EmailTarget(trusted).send(ALERT)
        assert len(server.mailbox.mails) == 1
        with pytest.raises(ssl.SSLCertVerificationError):  # the system CAs do not know this relay
            EmailTarget(_settings(server.port, security="starttls")).send(ALERT)
        assert len(server.mailbox.mails) == 1
    finally:
        server.stop()


def test_relay_down_then_up_delivers_exactly_once(tmp_path: Path) -> None:
    now = [1000.0]
    server = SmtpServer(free_port(), Mailbox())  # not started: connection refused
    target = EmailTarget(_settings(server.port, timeout_s=2), name="oncall")
    outbox = Outbox(tmp_path / "oncall", target, retry_first_s=30, clock=lambda: now[0])
    outbox.add(ALERT)
    assert outbox.deliver_due() == pytest.approx(30)
    (waiting,) = outbox.pending()
    assert waiting.attempts == 1 and "Connection refused" in waiting.last_error
    server.start()
    try:
        assert outbox.deliver_due() == pytest.approx(30)  # held until the next try is due
        assert server.mailbox.mails == []
        now[0] += 30
        assert outbox.deliver_due() is None
        assert outbox.deliver_due() is None
        assert len(server.mailbox.mails) == 1 and outbox.pending() == []
    finally:
        server.stop()
