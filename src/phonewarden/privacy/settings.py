"""Settings of the privacy guard: the `[privacy]` section of phonewarden.toml (env PHONEWARDEN_PRIVACY__*)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class PrivacySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
