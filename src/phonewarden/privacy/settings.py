"""Settings of the privacy guard: the `[privacy]` section of phonewarden.toml (env PHONEWARDEN_PRIVACY__*)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from phonewarden.privacy.policy import PolicyError, parse_policy


class PrivacySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Device inventory (.json or .toml) for live mode; the console/API manage the same devices.
    devices_file: Path | None = None
    # Residency policies judged per device: eu, de, countries:DE,AT, domains:vendor.com
    policies: list[str] = ["eu"]
    max_flows: Annotated[int, Field(ge=1024, le=4_194_304)] = 131072
    # Live mode: how often the results so far are stored as the live run (the console shows them), and the
    # inventory is checked for changes. A crash loses at most this much.
    store_interval_s: Annotated[int, Field(ge=10, le=86400)] = 600

    @field_validator("policies")
    @classmethod
    def _policies_parse(cls, value: list[str]) -> list[str]:
        for text in value:
            try:
                parse_policy(text)
            except PolicyError as exc:
                raise ValueError(str(exc)) from None
        return value
