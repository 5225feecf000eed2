"""The `[alerts]` section: named targets and the rules that route each guard's alerts to them.

    [alerts.targets.oncall]
    type = "email"
    host = "mail.example.net"
    from = "phonewarden@example.net"
    to = ["noc@example.net"]

    [[alerts.rules]]
    guards = ["fraud"]
    min_severity = "high"
    targets = ["oncall"]

Every rule that matches an alert adds its targets (all-match, see docs/alerts.md); an alert reaches each
target once. Without rules, every alert of at least `medium` goes to every target.
"""

from __future__ import annotations

import re
from ipaddress import ip_address
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SEVERITIES = ("info", "low", "medium", "high", "critical")
Severity = Literal["info", "low", "medium", "high", "critical"]
GuardName = Literal["shield", "fraud", "privacy", "audit", "provisioning"]
TARGET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")  # also the outbox folder's name
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
Port = Annotated[int, Field(ge=1, le=65535)]


def is_loopback_host(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def split_address(address: str) -> tuple[str, int]:
    """ "host:port" or "[v6]:port" into its parts; ValueError names what is wrong."""
    host, _, port = address.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        host = ""  # a bare IPv6 address: which colon starts the port?
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"address {address!r} is not host:port (IPv6 as [addr]:port, port 1-65535)")
    return host, int(port)


class _Target(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0


class WebhookTargetSettings(_Target):
    """JSON POST signed with HMAC-SHA256 of the body under `secret` (header X-Phonewarden-Signature)."""

    type: Literal["webhook"]
    url: Annotated[str, Field(pattern=r"^https?://[^\s/]+", max_length=2000)]
    secret: Annotated[str, Field(min_length=16, max_length=512)]


class EmailTargetSettings(_Target):
    """SMTP: `starttls` (port 587), `tls` (implicit, port 465) or `plain` (a relay without TLS)."""

    type: Literal["email"]
    host: Annotated[str, Field(min_length=1, max_length=255)]
    port: Port = 587
    security: Literal["starttls", "tls", "plain"] = "starttls"
    username: str = ""
    password: str = ""
    ca_file: Path | None = None  # trust this CA instead of the system's (a private relay)
    sender: Annotated[str, Field(alias="from", pattern=r"^[^@\s<>]+@[^@\s<>]+$")]
    to: Annotated[list[Annotated[str, Field(pattern=r"^[^@\s<>,]+@[^@\s<>,]+$")]], Field(min_length=1)]

    @model_validator(mode="after")
    def _no_password_in_clear(self) -> EmailTargetSettings:
        if self.security == "plain" and (self.username or self.password) and not is_loopback_host(self.host):
            raise ValueError(
                f'security = "plain" would send the password to {self.host} in clear; '
                "use starttls or tls, or a relay on loopback"
            )
        if bool(self.username) != bool(self.password):
            raise ValueError("username and password go together: give both or neither")
        if self.ca_file is not None and not self.ca_file.is_file():
            raise ValueError(f"ca_file {self.ca_file} does not exist")
        return self


class SyslogTargetSettings(_Target):
    """RFC 5424 to a collector: UDP datagrams, or TCP with octet-counting framing (RFC 6587)."""

    type: Literal["syslog"]
    address: str
    transport: Literal["udp", "tcp"] = "udp"

    @field_validator("address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        split_address(value)
        return value


TargetSettings = Annotated[
    WebhookTargetSettings | EmailTargetSettings | SyslogTargetSettings, Field(discriminator="type")
]


class AlertRule(BaseModel):
    """Alerts of these guards (none: all), at or above min_severity, of these kinds (none: all) go to
    `targets`. A kind matches an alert's `type` (alert, restriction, ban, verdict, new_destination, ...)
    or its `detector` (wangiri, bruteforce, ...)."""

    model_config = ConfigDict(extra="forbid")
    guards: list[GuardName] = []
    min_severity: Severity = "medium"
    kinds: list[Annotated[str, Field(min_length=1, max_length=64)]] = []
    targets: Annotated[list[str], Field(min_length=1)]


class AlertSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: dict[str, TargetSettings] = {}
    rules: list[AlertRule] = []
    # Outbox: a failed delivery is retried after retry_first_s, doubling up to retry_max_s; an alert still
    # undelivered after dead_letter_days is set aside (listed, retried only by an operator), never dropped.
    retry_first_s: Annotated[float, Field(gt=0, le=3600)] = 30.0
    retry_max_s: Annotated[float, Field(gt=0, le=86400)] = 3600.0
    dead_letter_days: Annotated[float, Field(gt=0, le=365)] = 3.0

    @model_validator(mode="after")
    def _check(self) -> AlertSettings:
        for name in self.targets:
            if not TARGET_NAME.match(name):
                raise ValueError(
                    f"targets.{name}: a target name is 1-64 of a-z, 0-9, '-' and '_' (it names a folder)"
                )
        for index, rule in enumerate(self.rules):
            unknown = [name for name in rule.targets if name not in self.targets]
            if unknown:
                defined = ", ".join(sorted(self.targets)) or "none"
                raise ValueError(
                    f"rules[{index}].targets: unknown target {unknown[0]!r} (defined: {defined})"
                )
        if self.retry_max_s < self.retry_first_s:
            raise ValueError("retry_max_s must be at least retry_first_s")
        return self
