"""Settings of the provisioning guard: `[provisioning]` in phonewarden.toml, PHONEWARDEN_PROVISIONING__*."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ProvisioningSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
