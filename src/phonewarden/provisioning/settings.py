"""Settings of the provisioning guard: `[provisioning]` in phonewarden.toml, PHONEWARDEN_PROVISIONING__*.

The device plane (phones fetching configs) listens on its own HTTPS port, apart from the console.
Secrets at rest (SIP, admin and digest passwords) are encrypted with `encryption_key` (a Fernet key:
`phonewarden provision keygen`); without one the server refuses to start unless `demo = true`.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

Port = Annotated[int, Field(ge=1, le=65535)]
Hours = Annotated[float, Field(gt=0, le=24 * 366)]


class GateDefaults(BaseModel):
    """What a new site's gate requires; each site can change every rule (`provision site set`)."""

    model_config = ConfigDict(extra="forbid")

    # Enrollment window opened by `device add` / `reassign`, and successful fetches allowed within it.
    window_hours: Hours = 72.0
    max_fetches: Annotated[int, Field(ge=1, le=10_000_000)] = 3
    # Source networks phones may fetch from; empty = any source.
    networks: list[str] = []
    # The User-Agent must name the device's vendor and model (and its MAC where the vendor puts it there).
    require_user_agent: bool = True
    # A client certificate chained to `client_ca` whose subject MAC equals the URL MAC.
    require_client_cert: bool = False
    # HTTP digest with a per-device password (user name = MAC).
    require_digest: bool = False
    # Config changes after the first delivery wait for the customer's approval (`provision device approve`).
    require_consent: bool = False

    @field_validator("networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        return [check_network(text) for text in value]


def check_network(text: str) -> str:
    try:
        return str(ipaddress.ip_network(text.strip(), strict=False))
    except ValueError as exc:
        raise ValueError(f"network {text!r} is not an IP network: {exc}") from None


class ProvisioningSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Run the HTTPS device plane inside `phonewarden serve` (it always runs with `provision serve`).
    enabled: bool = False
    host: str = "127.0.0.1"
    port: Port = 8443
    certificate: Path | None = None
    private_key: Path | None = None
    # PEM bundle of the vendor device CAs (Snom, Poly, Yealink...) client certificates must chain to.
    client_ca: Path | None = None
    # Fernet key (urlsafe base64 of 32 bytes) or a file holding it; one of them is required outside demo.
    encryption_key: str | None = Field(default=None, repr=False)
    encryption_key_file: Path | None = None
    # Demo only: generate a key into data_dir/provisioning-demo.key and serve plain HTTP when no cert.
    demo: bool = False
    # What rendered configs point at: this server's public URL and the SIP registrar (TLS).
    public_url: str = "https://provisioning.example.test:8443"
    registrar: str = "pbx.example.test"
    registrar_tls_port: Port = 5061
    # Length of generated SIP/admin/digest passwords.
    password_length: Annotated[int, Field(ge=16, le=64)] = 24
    # Enumeration defence: denied requests per source within the window -> the shield bans it.
    enum_failures: Annotated[int, Field(ge=2, le=100_000)] = 20
    enum_window_s: Annotated[int, Field(ge=1, le=86_400)] = 300
    max_sources: Annotated[int, Field(ge=100, le=10_000_000)] = 100_000
    # Push rotated SIP passwords to Kamailio (jsonrpcs over HTTP, htable `kamailio_htable`); None = off.
    kamailio_rpc_url: str | None = None
    kamailio_htable: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,31}$")] = "pw"
    # Successful fetches are counted in memory and written every count_flush_s seconds (0 = every fetch,
    # atomically in the database: use 0 when several device-plane processes share one database).
    count_flush_s: Annotated[float, Field(ge=0, le=60)] = 0.5
    gate: GateDefaults = Field(default_factory=GateDefaults)

    @field_validator("public_url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError(
                f"public_url must start with https:// (configs carry credentials), got {value!r}"
            )
        return value.rstrip("/")
