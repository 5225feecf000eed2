"""One settings model: defaults -> TOML file -> PHONEWARDEN_* environment.

The TOML file is `--config PATH`, else ./phonewarden.toml, else /etc/phonewarden/phonewarden.toml.
Nested sections map to nested env names: `[hep] port = 9061` is `PHONEWARDEN_HEP__PORT=9061`.
A wrong value stops start-up with a `SettingsError` that names the key and what is accepted.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from phonewarden.alerts.settings import AlertSettings
from phonewarden.audit.settings import AuditSettings
from phonewarden.console.settings import ConsoleSettings
from phonewarden.fraud.settings import FraudSettings
from phonewarden.privacy.settings import PrivacySettings
from phonewarden.provisioning.settings import ProvisioningSettings
from phonewarden.shield.settings import ShieldSettings

DEFAULT_CONFIG_PATHS = (Path("phonewarden.toml"), Path("/etc/phonewarden/phonewarden.toml"))


class SettingsError(Exception):
    """Raised when settings cannot be loaded; the message is meant for the operator."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HepSettings(Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 9060
    transports: list[Literal["udp", "tcp"]] = ["udp", "tcp"]
    # When set, HEP packets whose auth-key chunk differs are dropped and counted.
    auth_key: str | None = None
    max_packet_bytes: Annotated[int, Field(ge=512, le=1048576)] = 65535


class CaptureSettings(Section):
    # Live capture is opt-in: sniffing needs root and an interface the operator chooses.
    interface: str | None = None
    bpf_filter: str = "udp or tcp"
    snaplen: Annotated[int, Field(ge=256, le=262144)] = 65535


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PHONEWARDEN_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    data_dir: Path = Path("var")
    # Empty means SQLite in data_dir; PostgreSQL: postgresql+psycopg://user@host/db
    database_url: str = ""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    hep: HepSettings = Field(default_factory=HepSettings)
    capture: CaptureSettings = Field(default_factory=CaptureSettings)
    # One section per guard; each guard owns its model in phonewarden/<guard>/settings.py.
    shield: ShieldSettings = Field(default_factory=ShieldSettings)
    fraud: FraudSettings = Field(default_factory=FraudSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    provisioning: ProvisioningSettings = Field(default_factory=ProvisioningSettings)
    # Alert targets and routing for every guard (docs/alerts.md).
    alerts: AlertSettings = Field(default_factory=AlertSettings)

    @model_validator(mode="after")
    def _default_database_in_data_dir(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'phonewarden.db'}"
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Highest priority first: explicit values, environment, then the TOML file.
        toml_path = settings_cls.model_config.get("toml_file")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)


def find_config_file(explicit: Path | None) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise SettingsError(f"config file {explicit} does not exist or is not a file")
        return explicit
    return next((path for path in DEFAULT_CONFIG_PATHS if path.is_file()), None)


def _describe(error: dict[str, Any], source: str) -> str:
    key = ".".join(str(part) for part in error["loc"])
    value = error.get("input")
    shown = "" if isinstance(value, dict) else f" (got {value!r})"
    return f"  {key}{shown}: {error['msg']} [{source}]"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Load settings or raise SettingsError naming every wrong key and what it accepts."""
    path = find_config_file(config_file)
    source = f"from {path} or PHONEWARDEN_* environment" if path else "from PHONEWARDEN_* environment"
    if path is not None:
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"config file {path} is not valid TOML: {exc}") from exc

    class FileSettings(Settings):
        model_config = SettingsConfigDict(toml_file=path)

    try:
        loaded = FileSettings(**overrides)
    except ValidationError as exc:
        lines = [_describe(dict(error), source) for error in exc.errors()]
        raise SettingsError("invalid settings:\n" + "\n".join(lines)) from exc
    return loaded
