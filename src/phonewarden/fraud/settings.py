"""Settings of the fraud guard: the `[fraud]` section of phonewarden.toml (env PHONEWARDEN_FRAUD__*).

Defaults follow docs/fraud.md (and the reference note): ClearIP-style cost windows of 5/15/60 minutes plus
a day, an hour-of-week baseline after two weeks of warm-up, and graded, time-limited restrictions.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

from phonewarden.fraud.readers_asterisk import cdr_columns, cel_columns

Money = Annotated[float, Field(gt=0)]


class WindowLimit(BaseModel):
    """Cost and minutes allowed per account within one sliding window before a critical alert."""

    model_config = ConfigDict(extra="forbid")
    seconds: Annotated[int, Field(ge=60, le=86400)]
    max_cost: Money
    max_minutes: Money


def _default_windows() -> list[WindowLimit]:
    return [
        WindowLimit(seconds=300, max_cost=15.0, max_minutes=120.0),
        WindowLimit(seconds=900, max_cost=30.0, max_minutes=300.0),
        WindowLimit(seconds=3600, max_cost=60.0, max_minutes=900.0),
        WindowLimit(seconds=86400, max_cost=250.0, max_minutes=6000.0),
    ]


SipField = Literal["from_user", "auth_username", "contact_user", "to_user", "from_host"]


class LiveAccountRule(BaseModel):
    """Which account a live call (an INVITE) bills to. Rules are tried in order; a rule applies when
    all its conditions hold (`source`: the sender's address is in this network; `from_host`: the From
    domain, e.g. a trunk's) and its account can be read: a fixed `account`, the user part of a SIP/tel
    URI in `header` (the whole value when it holds no URI), or a parsed SIP `field`."""

    model_config = ConfigDict(extra="forbid")
    source: IPv4Network | IPv6Network | None = None
    from_host: str | None = None
    account: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    header: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    field: SipField | None = None

    @model_validator(mode="after")
    def _one_source_of_account(self) -> LiveAccountRule:
        given = [name for name in ("account", "header", "field") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"a live_accounts rule needs exactly one of account, header, field; got {given}")
        if self.account is not None and self.source is None and self.from_host is None:
            raise ValueError(f"live_accounts rule with account={self.account!r} needs source or from_host")
        self.from_host = self.from_host.lower() if self.from_host else None
        return self


class CdrFile(BaseModel):
    """A CDR file `serve` follows (fraud/cdr_follow.py); written as a plain path, or as
    `{path = "...", format = "asterisk-custom"}` when its format must be named (custom mappings)."""

    model_config = ConfigDict(extra="forbid")
    path: Path
    format: (
        Literal[
            "asterisk", "asterisk-custom", "asterisk-cel", "freeswitch-csv", "freeswitch-json",
            "kamailio-acc", "generic-csv", "generic-json",
        ]
        | None
    ) = None  # fmt: skip

    @model_validator(mode="before")
    @classmethod
    def _plain_path(cls, value: object) -> object:
        return {"path": value} if isinstance(value, str | Path) else value


class PbxToken(BaseModel):
    """A PBX allowed to ask /authorize and push /cdr: its name and the SHA-256 (hex) of its token.
    `phonewarden fraud pbx-token NAME` makes a token and prints this entry."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=64)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]


class FraudSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Dial plan: how dialled digits become E.164.
    home_region: Annotated[str, Field(min_length=2, max_length=2)] = "DE"
    strip_prefixes: list[str] = []  # trunk access codes such as "9", removed before parsing
    currency: str = "EUR"
    cdr_timezone: str = "UTC"  # zone of local timestamps in Asterisk/FreeSWITCH CSV (usegmtime=no)
    # Generic CSV/JSON: canonical field -> the column or key name in your export (docs/fraud.md).
    generic_fields: dict[str, str] = {}
    # Asterisk cdr_custom / cel_custom: the mapping as written in cdr_custom.conf / cel_custom.conf
    # (`Master.csv => ${CSV_QUOTE(${CDR(clid)})},...` or an advanced `fields = ...`); empty: the samples'.
    asterisk_custom_mapping: str = ""
    asterisk_cel_mapping: str = ""
    kamailio_account_field: str = "src_user"
    kamailio_destination_field: str = "dst_user"
    # CDR files `serve` follows across rotation, the read position kept in data_dir (docs/fraud.md).
    cdr_files: list[CdrFile] = []
    # Live calls (SIP/HEP): how an INVITE maps to an account, first matching rule; else the From user.
    live_accounts: list[LiveAccountRule] = []

    # Fixed limits per account (critical when crossed) and the learned baseline.
    windows: list[WindowLimit] = Field(default_factory=_default_windows)
    baseline_weeks: Annotated[int, Field(ge=2, le=12)] = 6
    warmup_days: Annotated[int, Field(ge=1, le=90)] = 14
    baseline_mad_factor: Annotated[float, Field(gt=0)] = 6.0
    baseline_min_cost: Money = 5.0  # an hour's spend below this never counts as unusual
    baseline_min_calls: Annotated[int, Field(ge=1)] = 3  # no baseline alert from a single call
    concurrency_cap: Annotated[int, Field(ge=1)] = 30
    concurrency_peak_factor: Annotated[float, Field(ge=1)] = 2.0
    concurrency_min: Annotated[int, Field(ge=1)] = 4

    # Destination signals.
    max_rate_without_review: Money = 0.25  # per minute, SIP.US default
    sequential_window_s: Annotated[int, Field(ge=60)] = 600
    sequential_limit: Annotated[int, Field(ge=2)] = 20
    range_distinct_limit: Annotated[int, Field(ge=2)] = 10
    wangiri_window_s: Annotated[int, Field(ge=60)] = 3600
    wangiri_accounts: Annotated[int, Field(ge=2)] = 4
    live_risky_call_max_s: Annotated[int, Field(ge=60)] = 1200
    alert_repeat_s: Annotated[int, Field(ge=60)] = 6 * 3600

    # Restrictions: level 1 international blocked, 2 only national, 3 all outbound blocked.
    restrict_hours: dict[int, Annotated[float, Field(gt=0, le=24 * 30)]] = {1: 12.0, 2: 24.0, 3: 24.0}
    destination_block_hours: Annotated[float, Field(gt=0)] = 72.0
    ack_timeout_minutes: Annotated[float, Field(gt=0, le=24 * 60)] = 15.0
    report_only: bool = False  # the first week: alert, never restrict

    # Tables; empty means the shipped ones in phonewarden/fraud/data/.
    tariff_path: Path | None = None
    risk_path: Path | None = None
    max_accounts: Annotated[int, Field(ge=10)] = 50_000

    # PBX tokens for /authorize and /cdr (none: loopback clients only); push_token: one plain legacy token.
    pbx_tokens: list[PbxToken] = []
    push_token: str = ""
    # Alert delivery through phonewarden.alerts: a signed webhook and/or syslog "host:port" (RFC 5424/UDP).
    alert_webhook_url: str = ""
    alert_webhook_secret: str = ""
    alert_syslog: str = ""
    alert_min_severity: Literal["info", "low", "medium", "high", "critical"] = "medium"

    @model_validator(mode="after")
    def _check(self) -> FraudSettings:
        if sorted(self.restrict_hours) != [1, 2, 3]:
            raise ValueError("restrict_hours needs exactly the levels 1, 2 and 3")
        seconds = [window.seconds for window in self.windows]
        if len(set(seconds)) != len(seconds):
            raise ValueError(f"windows must have distinct lengths, got {seconds}")
        for path in (self.tariff_path, self.risk_path):
            if path is not None and not path.is_file():
                raise ValueError(f"table file {path} does not exist")
        self.home_region = self.home_region.upper()
        followed = [str(entry.path) for entry in self.cdr_files]
        if len(set(followed)) != len(followed):
            raise ValueError(f"cdr_files lists a file twice: {followed}")
        names = [token.name for token in self.pbx_tokens]
        if len(set(names)) != len(names):
            raise ValueError(f"pbx_tokens names must be distinct, got {names}")
        if self.alert_webhook_url and not self.alert_webhook_secret:
            raise ValueError("alert_webhook_url needs alert_webhook_secret (the HMAC-SHA256 key)")
        for key, columns in (("asterisk_custom_mapping", cdr_columns), ("asterisk_cel_mapping", cel_columns)):
            try:  # a mapping that cannot be read fails at start, naming what it lacks
                columns(getattr(self, key))
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
        try:
            ZoneInfo(self.cdr_timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"cdr_timezone {self.cdr_timezone!r} is not a known time zone") from exc
        return self
