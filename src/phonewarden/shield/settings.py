"""Settings of the shield guard: the `[shield]` section of phonewarden.toml (env PHONEWARDEN_SHIELD__*).

Every default is argued in docs/shield.md against fail2ban, Kamailio pike/htable, FreePBX and CrowdSec.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Seconds = Annotated[int, Field(ge=1, le=366 * 24 * 3600)]
Count = Annotated[int, Field(ge=1, le=100_000)]
EnforcerName = Literal["nftables", "kamailio", "dry-run"]


class ShieldSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    # Decide and report, block nothing: the first days on a new site.
    dry_run: bool = False
    # Own registrars, trunks, monitoring: never banned whatever they send.
    never_block: list[str] = []

    # Scanner fingerprints: a message scoring >= 1.0 (weights in data/fingerprints.toml) is a scanner.
    scanner_ban_s: Seconds = 3600
    # Brute force: failed authentications (401/407 to credentials, 403) per source within the window.
    auth_failures: Count = 5
    auth_window_s: Seconds = 600
    # Enumeration: distinct users answered 404/403/484/604 per source within the window.
    enum_distinct_users: Count = 10
    enum_window_s: Seconds = 300
    # ... or distinct users only ever challenged (401/407), never answered with credentials, never a success:
    # enumeration against a server that challenges unknown users too (Asterisk alwaysauthreject).
    enum_challenged_users: Count = 30
    # Flood: requests per source (IPv6: per /64) within the window, all methods and per method.
    flood_requests: Count = 50
    flood_window_s: Seconds = 2
    # Lower limits of their own for some methods, within the same window (docs/shield.md argues them).
    flood_method_requests: dict[str, Count] = {"INVITE": 20, "MESSAGE": 20, "SUBSCRIBE": 20}
    # Toll-fraud probes: distinct international/premium numbers in unauthenticated INVITEs.
    home_region: Annotated[str, Field(min_length=2, max_length=2)] = "DE"
    toll_distinct_numbers: Count = 5
    toll_window_s: Seconds = 600
    # Malformed: parser anomalies per source (AudioCodes IDS example: 25 in 30 s).
    malformed_messages: Count = 25
    malformed_window_s: Seconds = 30

    # Trust from the wire: a source that authenticated successfully, or holds a registration.
    trust_after_auth_s: Seconds = 900
    registration_trust_max_s: Seconds = 3600

    # Escalation: first ban, then x factor per repeat within the decay period, capped.
    ban_s: Seconds = 600
    escalation_factor: Annotated[float, Field(ge=1.0, le=100.0)] = 4.0
    max_ban_s: Seconds = 7 * 24 * 3600
    decay_s: Seconds = 24 * 3600

    # Bounded state: keys per table and evidence samples per finding.
    max_sources: Annotated[int, Field(ge=100, le=10_000_000)] = 200_000
    max_pending_transactions: Annotated[int, Field(ge=100, le=10_000_000)] = 50_000
    evidence_samples: Annotated[int, Field(ge=1, le=50)] = 3

    # Enforcement back-ends (shield/enforce.py reads these).
    # Empty: detect, decide, store and publish the feed, touch no firewall (opt in per site).
    enforcers: list[EnforcerName] = []
    nft_table: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,31}$")] = "phonewarden"
    nft_netns: str | None = None
    kamailio_rpc_url: str = "http://127.0.0.1:5071/RPC"
    kamailio_htable: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,31}$")] = "ipban"

    @field_validator("never_block")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        cleaned = []
        for text in value:
            try:
                cleaned.append(str(ipaddress.ip_network(text.strip(), strict=False)))
            except ValueError as exc:
                raise ValueError(f"never_block entry {text!r} is not an IP network: {exc}") from None
        return cleaned

    @field_validator("flood_method_requests")
    @classmethod
    def _methods(cls, value: dict[str, int]) -> dict[str, int]:
        for method in value:
            if not method.isascii() or not method.isalpha():
                raise ValueError(f"flood_method_requests: {method!r} is not a SIP method name")
        return {method.upper(): count for method, count in value.items()}

    @model_validator(mode="after")
    def _check(self) -> ShieldSettings:
        self.home_region = self.home_region.upper()
        for method, count in self.flood_method_requests.items():
            if count > self.flood_requests:
                raise ValueError(
                    f"flood_method_requests[{method}] ({count}) is above flood_requests "
                    f"({self.flood_requests}): the all-methods limit would always fire first"
                )
        if self.max_ban_s < self.ban_s:
            raise ValueError(f"max_ban_s ({self.max_ban_s}) must be at least ban_s ({self.ban_s})")
        return self
