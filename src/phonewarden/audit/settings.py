"""Settings of the audit guard: the `[audit]` section of phonewarden.toml (env PHONEWARDEN_AUDIT__*)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class AuditSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
