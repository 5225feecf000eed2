"""One config fetch, end to end: identify -> gate -> (render | deny) -> log, ban enumerators.

Every denial gets the same answer (`DENIED`): an unknown MAC, a closed window and a wrong certificate
are indistinguishable from outside. The reason goes to the decision log only.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import Engine

from phonewarden.audit.policy import Vendor
from phonewarden.provisioning import digest, gate, render
from phonewarden.provisioning.bans import ShieldBans
from phonewarden.provisioning.certs import certificate_mac
from phonewarden.provisioning.enumeration import EnumerationDetector
from phonewarden.provisioning.eventlog import Event, EventLog
from phonewarden.provisioning.hotpath import HotPath
from phonewarden.provisioning.identify import Kind, Requested, parse_path
from phonewarden.provisioning.inventory import Inventory
from phonewarden.provisioning.secrets_box import Secret
from phonewarden.provisioning.settings import ProvisioningSettings
from phonewarden.shield.findings import Finding
from phonewarden.store.engine import session_factory
from phonewarden.store.findings import add_finding
from phonewarden.store.models import Guard, Severity

log = logging.getLogger(__name__)
_NO_SECRET = Secret("")
DIGEST_RECHECK_S = 5.0


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)


DENIED = Response(404, b"Not Found\n")


@dataclass(frozen=True, slots=True)
class Fetch:
    source: str
    path: str
    method: str = "GET"
    user_agent: str = ""
    authorization: str | None = None
    client_cert_der: bytes | None = None


class ProvisioningService:
    def __init__(
        self,
        inventory: Inventory,
        settings: ProvisioningSettings,
        *,
        bans: ShieldBans | None = None,
        events: EventLog | None = None,
        engine: Engine | None = None,
    ) -> None:
        self.inventory = inventory
        self.settings = settings
        self.bans = bans
        self.events = events
        self.engine = engine
        g = settings.gate
        self.defaults = gate.Rules(
            tuple(g.networks),
            g.max_fetches,
            g.require_user_agent,
            g.require_client_cert,
            g.require_digest,
            g.require_consent,
        )
        self._digest_checked, self._digest_somewhere = float("-inf"), g.require_digest
        self.hot = HotPath(inventory, settings.count_flush_s)
        self._common_cache: dict[str, str] = {}
        self.detector = EnumerationDetector(
            settings.enum_failures, settings.enum_window_s, settings.max_sources
        )

    def handle(self, fetch: Fetch, now: float | None = None) -> Response:
        now = time.time() if now is None else now
        requested = parse_path(fetch.path)
        cert_mac = certificate_mac(fetch.client_cert_der) if fetch.client_cert_der else None
        mac = requested.mac or cert_mac
        banned = self.bans.is_banned(fetch.source, now) if self.bans is not None else False
        # A banned source costs no database lookup: the gate denies it first anyway.
        lookup = mac and requested.kind is Kind.DEVICE and not banned
        found = self.hot.view(mac) if lookup and mac else None
        row_id, device = found if found is not None else (0, None)
        secret = self.hot.secrets(row_id, device).digest if device is not None else _NO_SECRET
        rules = device.rules if device is not None else self._unknown_rules()
        result = self._digest(fetch, rules, mac or "", secret, now, known=device is not None)
        facts = gate.Facts(fetch.source, requested, fetch.user_agent, cert_mac, result, banned, now)
        verdict = gate.decide(facts, device, self.defaults)
        if verdict.allowed and device is not None:
            wipe = verdict.reason is gate.Reason.SERVED_WIPE
            if not self.hot.count(row_id, device, wipe):
                verdict = gate.Verdict(
                    False, gate.Reason.FETCH_LIMIT, device.mac, "used by a concurrent fetch"
                )
            else:
                return self._allow(fetch, verdict, self.hot.body(row_id, device, wipe), now)
        elif verdict.allowed:
            return self._allow(fetch, verdict, self._common(requested), now)
        return self._deny(fetch, verdict, rules, result, now)

    def close(self) -> None:
        """At shutdown: write pending fetch counts and the decision log."""
        self.hot.flush()
        if self.events is not None:
            self.events.close()

    def _unknown_rules(self) -> gate.Rules:
        # No oracle: when any site challenges for digest, an unknown MAC is challenged too.
        now = time.monotonic()
        if now - self._digest_checked > DIGEST_RECHECK_S:
            self._digest_checked = now
            self._digest_somewhere = (
                self.defaults.require_digest or self.inventory.digest_required_somewhere()
            )
        return replace(self.defaults, require_digest=self._digest_somewhere)

    def _digest(
        self, fetch: Fetch, rules: gate.Rules, mac: str, secret: Secret, now: float, known: bool
    ) -> Literal["ok", "missing", "bad"]:
        if not rules.require_digest:
            return "missing"
        # Unknown MAC: no password, so "bad" with a header and "missing" without, like a known one.
        password = secret.reveal() if known else ""
        outcome = digest.verify(fetch.authorization, fetch.method, fetch.path, mac, password, now)
        if not known and outcome == "ok":
            return "bad"
        return "ok" if outcome == "ok" else "missing" if outcome == "missing" else "bad"

    def _common(self, requested: Requested) -> str:
        model = requested.model or ""
        if model not in self._common_cache and len(self._common_cache) < 256:
            self._common_cache[model] = self._render_common(model)
        return self._common_cache.get(model) or self._render_common(model)

    def _render_common(self, model: str) -> str:
        s = self.settings
        target = render.Target(
            "000000000000",
            Vendor.YEALINK,
            model,
            (),
            _NO_SECRET,
            _NO_SECRET,
            _NO_SECRET,
            s.registrar,
            s.registrar_tls_port,
            s.public_url,
        )
        return render.yealink_common(target)

    def _allow(self, fetch: Fetch, verdict: gate.Verdict, body: str, now: float) -> Response:
        self._log(
            Event(
                now,
                "fetch",
                verdict.mac or "",
                fetch.source,
                verdict.reason.value,
                {"path": fetch.path, "user_agent": fetch.user_agent[:200]},
            )
        )
        kind = "application/xml" if body.lstrip().startswith("<") else "text/plain; charset=utf-8"
        return Response(200, body.encode(), kind, (("cache-control", "no-store"),))

    def _deny(
        self, fetch: Fetch, verdict: gate.Verdict, rules: gate.Rules, result: str, now: float
    ) -> Response:
        self._log(
            Event(
                now,
                "deny",
                verdict.mac or "",
                fetch.source,
                verdict.reason.value,
                {"path": fetch.path[:200], "user_agent": fetch.user_agent[:200], "detail": verdict.detail},
            )
        )
        if verdict.counts_as_probe:
            finding = self.detector.observe(fetch.source, verdict.reason.value, verdict.mac, now)
            if finding is not None:
                self._ban(finding)
        if rules.require_digest and result == "missing" and verdict.reason is not gate.Reason.BANNED:
            # Challenge whenever digest is on and no credentials came, for known and unknown MACs alike.
            return Response(401, b"Unauthorized\n", headers=(("www-authenticate", digest.challenge(now)),))
        return DENIED

    def _ban(self, finding: Finding) -> None:
        decision = self.bans.report(finding) if self.bans is not None else None
        action = decision.action if decision is not None else "report"
        self._log(
            Event(
                finding.time,
                "ban" if action in ("ban", "extend") else "enumeration",
                "",
                finding.source,
                finding.reason,
                {"decision": action},
            )
        )
        if self.engine is None:
            return
        try:
            with session_factory(self.engine).begin() as session:
                add_finding(
                    session,
                    time=datetime.fromtimestamp(finding.time, UTC),
                    guard=Guard.PROVISIONING,
                    kind="enumeration",
                    subject=finding.source,
                    severity=Severity.HIGH,
                    reason=finding.reason,
                    evidence={**finding.evidence, "decision": action},
                )
        except Exception:
            log.exception("provisioning: could not store the enumeration finding")

    def _log(self, event: Event) -> None:
        if self.events is not None:
            self.events.add(event)
