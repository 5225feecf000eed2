"""Thin adapter to the shield's bans: the same policy (never-block, escalation) and the same ban store
and enforcers as SIP attacks. The provisioning server also refuses banned sources itself, so a ban
holds even where no firewall enforcer is configured; bans made by the shield (SIP attacks) are picked
up from the store every `REFRESH_S`.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine

from phonewarden.core.windows import TtlMap
from phonewarden.shield.bans import BanStore
from phonewarden.shield.enforce import Enforcer, build_enforcers
from phonewarden.shield.findings import Finding, source_key
from phonewarden.shield.policy import Decision
from phonewarden.shield.service import ShieldService
from phonewarden.shield.settings import ShieldSettings

log = logging.getLogger(__name__)
REFRESH_S = 5.0


class ShieldBans:
    def __init__(
        self,
        settings: ShieldSettings,
        engine: Engine | None,
        *,
        enforcers: list[Enforcer] | None = None,
        max_sources: int = 100_000,
    ) -> None:
        store = BanStore(engine) if engine is not None else None
        chosen = enforcers if enforcers is not None else build_enforcers(settings)
        self.service = ShieldService(settings, store=store, enforcers=chosen)
        self.banned: TtlMap[str, float] = TtlMap(settings.max_ban_s, max_sources)
        self._refreshed = 0.0

    def report(self, finding: Finding) -> Decision:
        """Let the shield's policy decide on `finding`; a ban is stored, enforced and remembered here."""
        decision = self.service.policy.decide(finding)
        if decision.action in ("ban", "extend") and not decision.dry_run:
            self.banned.set(decision.source, time.time() + decision.duration_s, finding.time)
        if decision.action == "ban":
            self.service.apply(decision)
            log.warning(
                "provisioning: banned %s for %d s: %s", decision.source, decision.duration_s, finding.reason
            )
        return decision

    def is_banned(self, source: str, now: float | None = None) -> bool:
        wall = time.time() if now is None else now
        if wall - self._refreshed >= REFRESH_S:
            self._refresh(wall)
        until = self.banned.get(source_key(source), wall)
        return until is not None and until > wall

    def _refresh(self, wall: float) -> None:
        self._refreshed = wall
        store = self.service.store
        if store is None:
            return
        try:
            rows = store.active_bans()
        except Exception:  # the store being down must not open or close the gate by itself
            log.exception("provisioning: could not read the shield's bans")
            return
        for row in rows:
            self.banned.set(row.address, row.expires_at.timestamp(), wall)
