"""The shield inside `phonewarden serve`: every HEP/live record goes through the detectors and the policy;
bans are persisted and enforced by one worker thread, so the HEP listener never waits for nft or an RPC.

At start the worker starts the enforcers and re-applies the stored bans; every `SWEEP_S` it lifts expired
bans in the back-ends and re-reads the allowed networks (`phonewarden shield allow` from another process),
lifting bans inside them. Stopping leaves the back-ends' bans in place: their own timeouts end them.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
import weakref
from collections import deque
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Engine

from phonewarden.alerts import routing
from phonewarden.settings import Settings
from phonewarden.shield.bans import BanStore
from phonewarden.shield.enforce import build_enforcers
from phonewarden.shield.findings import Finding
from phonewarden.shield.policy import Decision
from phonewarden.shield.service import ShieldService
from phonewarden.store.engine import session_factory
from phonewarden.store.findings import add_finding
from phonewarden.store.models import Guard, Severity

log = logging.getLogger(__name__)
SWEEP_S = 30.0
REPEAT_OFFENDER = 3  # offences from which a ban alert is medium, not low
BATCH = 256  # queued items handled together; findings among them are written in one transaction
_STOP = object()
_RELOAD_ALLOWED = object()
_RUNNING: weakref.WeakSet[LiveShield] = weakref.WeakSet()


class _Lift(str):
    """A queued request to lift a ban (an operator unbanned it in the console) in every enforcer."""


class _Impose(NamedTuple):
    """A queued ban an operator imposed in the console: the store has it, the enforcers get it here."""

    address: str
    duration_s: int
    reason: str


def lift(engine: Engine, address: str) -> int:
    """Lift `address` (a canonical ban key) in the running shields on `engine`: enforcers and policy.

    The console removes the stored ban itself; without this the firewall would keep the rule until it
    expires. Returns how many running shields were told."""
    told = 0
    for shield in list(_RUNNING):
        if shield.engine is engine:
            shield.lift(address)
            told += 1
    return told


def impose(engine: Engine, address: str, duration_s: int, reason: str) -> int:
    """Ban `address` (a canonical key, already stored) in the enforcers of the running shields on `engine`."""
    told = 0
    for shield in list(_RUNNING):
        if shield.engine is engine:
            shield.queue.put(_Impose(address, duration_s, reason))
            told += 1
    return told


def reload_allowed(engine: Engine) -> int:
    """Tell the running shields on `engine` that the allowed networks changed in the store (written in this
    process, e.g. by the console): they re-read them and lift bans inside at once, not at the next sweep.
    Another process (`phonewarden shield allow`) is picked up by the sweep."""
    told = 0
    for shield in list(_RUNNING):
        if shield.engine is engine:
            shield.queue.put(_RELOAD_ALLOWED)
            told += 1
    return told


class LiveShield:
    def __init__(
        self,
        service: ShieldService,
        engine: Engine | None,
        enabled: bool = True,
        alerts: routing.AlertRouter | None = None,
    ) -> None:
        self.service = service
        self.alerts = alerts  # each applied ban is also an alert (docs/alerts.md)
        self.enabled = enabled
        self.engine = engine
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=100_000)
        self.dropped = 0
        self.applied: list[Decision] = []
        self.started = threading.Event()
        self._forget: deque[str] = deque(maxlen=10_000)  # lifted bans the policy must forget
        self._allowed: deque[list[str]] = deque(maxlen=1)  # the store's allowed networks, newest read
        # The policy is only touched from the thread that calls on_record: load it here, before any record.
        self.restored = self._guard(service.load) or []
        self.thread = threading.Thread(target=self._work, name="shield-enforce", daemon=True)
        self.thread.start()
        _RUNNING.add(self)

    def lift(self, address: str) -> None:
        """Thread-safe: enforcers are touched by the worker, the policy by the thread feeding records."""
        self._forget.append(address)
        self.queue.put(_Lift(address))

    def metrics(self) -> dict[str, float]:
        """For /metrics: evictions from the bounded tables, the enforcement queue, records it dropped."""
        state = self.service.summary().state
        return {
            "evictions": float(state["evictions"]),
            "queue_depth": float(self.queue.qsize()),
            "dropped": float(self.dropped),
        }

    def on_record(self, record: Any) -> None:
        if not self.enabled:
            return
        if self._allowed:
            self.service.policy.set_allowed(self._allowed.popleft())
        while self._forget:
            key = self._forget.popleft()
            self.service.policy.forget(key, self.service.clock.now)
            self.service.banned.pop(key, None)
        try:
            outputs = self.service.process(record)
        except Exception:  # a detector bug must not take the HEP listener down
            log.exception("shield: record failed")
            return
        for output in outputs:
            try:
                self.queue.put_nowait(output)
            except queue.Full:
                self.dropped += 1

    async def stop(self) -> None:
        _RUNNING.discard(self)
        self.queue.put(_STOP)
        await asyncio.to_thread(self.thread.join, 15.0)

    def _work(self) -> None:
        self._start_enforcers()
        self.started.set()
        next_sweep = time.monotonic() + SWEEP_S
        while True:
            try:  # a steady stream of findings must not hold off the sweep
                batch = [self.queue.get(timeout=max(0.0, next_sweep - time.monotonic()))]
            except queue.Empty:
                batch = []
            if time.monotonic() >= next_sweep:
                self._guard(self.service.sweep)
                self._guard(self._reload_allowed)
                next_sweep = time.monotonic() + SWEEP_S
            if not batch:
                continue
            while len(batch) < BATCH and not self.queue.empty():  # one transaction for a burst of findings
                batch.append(self.queue.get_nowait())
            findings = [item for item in batch if isinstance(item, Finding)]
            for item in batch:
                if isinstance(item, Decision):  # bans first: enforcing is what must not wait
                    self._guard(self.service.apply, item)
                    if item.action == "ban":
                        self.applied.append(item)
                    if self.alerts is not None and item.action == "ban" and not item.dry_run:
                        self._guard(self.alerts.submit, _ban_alert(item))
                elif isinstance(item, _Impose):
                    for enforcer in self.service.enforcers:
                        self._guard(enforcer.ban, *item)
                elif isinstance(item, _Lift):
                    for enforcer in self.service.enforcers:
                        self._guard(enforcer.unban, str(item))
                elif item is _RELOAD_ALLOWED:
                    self._guard(self._reload_allowed)
            if findings:
                self._guard(self._save_findings, findings)
            if any(item is _STOP for item in batch):
                break
        for enforcer in self.service.enforcers:
            self._guard(enforcer.stop)  # keeps the bans: `phonewarden shield uninstall` removes them
        if self.alerts is not None:
            routing.release(self.alerts)

    def _reload_allowed(self) -> None:
        """Worker thread: read the allowed networks for the policy (applied by the record thread) and lift
        the bans inside them in the store and the enforcers."""
        store = self.service.store
        if store is None:
            return
        networks = store.allowed()
        self._allowed.append(networks)
        for address in self.service.lift_inside(networks):
            log.warning("shield: lifted the ban of %s: it lies in an allowed network", address)
            self._forget.append(address)

    def _start_enforcers(self) -> None:
        for enforcer in self.service.enforcers:
            self._guard(enforcer.start)
        self._guard(self.service.reapply, self.restored)
        if self.restored:
            log.info("shield: re-applied %d stored bans", len(self.restored))

    def _save_findings(self, findings: list[Finding]) -> None:
        if self.engine is None:
            return
        with session_factory(self.engine).begin() as session:
            for finding in findings:
                self._add(session, finding)

    @staticmethod
    def _add(session: Any, finding: Finding) -> None:
        add_finding(
            session,
            time=datetime.fromtimestamp(finding.time, UTC),
            guard=Guard.SHIELD,
            kind=finding.detector,
            subject=finding.source,
            severity=Severity(finding.severity),
            reason=finding.reason,
            evidence=finding.evidence,
        )

    @staticmethod
    def _guard(action: Any, *args: Any) -> Any:
        try:
            return action(*args)
        except Exception:
            log.exception("shield: enforcement step failed")
            return None


def _ban_alert(decision: Decision) -> dict[str, Any]:
    summary = f"banned {decision.source} for {decision.duration_s} s: {'; '.join(decision.reasons)}"
    # Bans are the shield doing its job: low, so the default rule (medium and up) does not page anyone for
    # each scanner; a repeat offender (third ban and later) is medium.
    severity = "medium" if decision.offences >= REPEAT_OFFENDER else "low"
    return {**decision.to_json(), "guard": "shield", "severity": severity, "summary": summary}


def start(settings: Settings, engine: Engine | None) -> LiveShield:
    shield = settings.shield
    store = BanStore(engine) if engine is not None else None
    enforcers = build_enforcers(shield) if shield.enabled else []
    service = ShieldService(shield, store=store, enforcers=enforcers)
    alerts = routing.acquire(settings) if shield.enabled else None
    return LiveShield(service, engine, enabled=shield.enabled, alerts=alerts)
