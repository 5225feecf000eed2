"""E-mail through an SMTP relay (smtplib): subject "[phonewarden] <severity> <guard>: <summary>", a plain
text body a person on call can act on, and the alert as JSON at the end for scripts and tickets.

`starttls` upgrades port 587, `tls` speaks TLS from the first byte (465), `plain` is for a relay that
offers no TLS; settings refuse a password over `plain` except to loopback. Certificates are checked
against the system's CAs, or `ca_file`.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from phonewarden.alerts.settings import EmailTargetSettings
from phonewarden.alerts.summary import action_of, summary_of

log = logging.getLogger(__name__)
SUBJECT_MAX = 200
ID_HEADER = "X-Phonewarden-Alert-Id"


def subject_line(alert: dict[str, Any]) -> str:
    severity, guard = alert.get("severity", "medium"), alert.get("guard", "phonewarden")
    line = f"[phonewarden] {severity} {guard}: {summary_of(alert)}"
    line = " ".join(line.split())  # no header folding tricks from a reason with newlines
    return line if len(line) <= SUBJECT_MAX else line[: SUBJECT_MAX - 1] + "…"


def body_text(alert: dict[str, Any]) -> str:
    details = [
        f"  {key}: {value}"
        for key, value in sorted(alert.items())
        if key not in {"summary"} and isinstance(value, str | int | float | bool)
    ]
    return "\n".join(
        [
            f"{str(alert.get('severity', 'medium')).upper()} alert from the {alert.get('guard', '?')} guard",
            "",
            f"What:  {summary_of(alert)}",
            f"When:  {alert.get('time', 'unknown')} (UTC)",
            f"Kind:  {alert.get('type', 'alert')}"
            + (f" / {alert['detector']}" if alert.get("detector") else ""),
            "",
            "What to do:",
            f"  {action_of(alert)}",
            "",
            "Details:",
            *details,
            "",
            "The alert as JSON:",
            json.dumps(alert, sort_keys=True, indent=2),
            "",
        ]
    )


def message_for(alert: dict[str, Any], sender: str, to: list[str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject_line(alert)
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    if alert.get("alert_id"):
        message[ID_HEADER] = str(alert["alert_id"])  # the same on a re-delivery: receivers can de-duplicate
    message.set_content(body_text(alert))
    return message


class EmailTarget:
    def __init__(self, settings: EmailTargetSettings, name: str = "email") -> None:
        self.settings = settings
        self.name = name

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
        if s.security == "tls":
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=context)
        smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
        if s.security == "starttls":
            try:
                smtp.starttls(context=context)  # refuses (SMTPNotSupportedError) when the relay offers none
            except BaseException:
                smtp.close()
                raise
        return smtp

    def send(self, alert: dict[str, Any]) -> None:
        s = self.settings
        message = message_for(alert, s.sender, s.to)
        with self._connect() as smtp:
            if s.username:
                smtp.login(s.username, s.password)
            refused = smtp.send_message(message, from_addr=s.sender, to_addrs=s.to)
        if refused:  # some took it: sending again would duplicate it for them, so this counts as delivered
            log.warning("alerts %s: relay refused %s", self.name, ", ".join(sorted(refused)))
