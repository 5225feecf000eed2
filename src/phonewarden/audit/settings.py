"""Settings of the audit guard: the `[audit]` section of phonewarden.toml (env PHONEWARDEN_AUDIT__*)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class AuditSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Probe etiquette: hosts probed at once, new connections/datagrams per second, per-step timeout.
    concurrency: Annotated[int, Field(ge=1, le=256)] = 64
    rate_per_second: Annotated[float, Field(gt=0, le=2000)] = 400.0
    timeout_seconds: Annotated[float, Field(gt=0, le=30)] = 1.5
    # A probe refuses more addresses than this in one run (a typo like /8 must not scan a country).
    max_hosts: Annotated[int, Field(ge=1, le=65536)] = 1024
    sip_port: Annotated[int, Field(ge=1, le=65535)] = 5060
    sips_port: Annotated[int, Field(ge=1, le=65535)] = 5061
    # One default-credential attempt per phone; a phone is not tried again within this many seconds
    # (Yealink locks its web UI for ~10 minutes after 3 failures).
    login_check: bool = True
    login_holdoff_seconds: Annotated[int, Field(ge=0, le=86400)] = 900
    # Ghost-call test: an unsolicited INVITE, cancelled at once; opt-in because the phone may ring.
    ghost_call: bool = False
    # The site name written into reports and stored results.
    site: str = "default"
