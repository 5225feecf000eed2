"""Settings of the shield guard: the `[shield]` section of phonewarden.toml (env PHONEWARDEN_SHIELD__*)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ShieldSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
