"""Settings of the fraud guard: the `[fraud]` section of phonewarden.toml (env PHONEWARDEN_FRAUD__*)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FraudSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
