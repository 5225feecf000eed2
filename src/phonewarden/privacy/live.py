"""Live mode inside `phonewarden serve`: whatever `serve` hands over feeds one long-running engine.

- a `Frame` (from live capture on `capture.interface`, a mirror port or the router's LAN side) is the
  real input: every destination, name and leak comes from frames;
- a `NetworkRecord` (what the HEP listener gives: SIP signalling copied by a proxy) is scanned as a
  message its sender sent, so a phone putting its MAC or serial into SIP headers is caught even without
  a capture; it adds SIP destinations only;
- anything else is counted in `ignored` and dropped.

The inventory is `[privacy] devices_file`, else the one stored in the database (console/API). `snapshot()`
gives the analysis so far; `stop()` stores it as a run (source "live") when the tables exist.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import Engine

from phonewarden.alerts import routing
from phonewarden.core.records import Frame
from phonewarden.privacy.engine import PrivacyEngine
from phonewarden.privacy.inventory import Device, load_inventory
from phonewarden.privacy.policy import parse_policy, verdicts
from phonewarden.privacy.repository import load_from_store, save_to_store
from phonewarden.privacy.service import Analysis, finish
from phonewarden.store.errors import StoreError
from phonewarden.wire.traffic import NetworkRecord

log = logging.getLogger(__name__)
ALERT_CHECK_S = 30.0  # how often policy violations and identifier leaks are looked for, to alert on new ones


class LivePrivacy:
    def __init__(
        self, settings: Any, store: Engine | None = None, alerts: routing.AlertRouter | None = None
    ) -> None:
        section = settings.privacy
        self.store = store
        self.policy_texts = list(section.policies)
        self.policies = [parse_policy(text) for text in section.policies]
        self.engine = PrivacyEngine(self._devices(section.devices_file), max_flows=section.max_flows)
        self.frames = 0
        self.records = 0
        self.ignored = 0
        self.alerts = alerts
        self._alerted: set[tuple[Any, ...]] = set()  # each violation (device, policy) and leak alerts once
        self._next_check = time.monotonic() + ALERT_CHECK_S

    def _devices(self, devices_file: Any) -> list[Device]:
        if devices_file:
            return load_inventory(devices_file)
        if self.store is None:
            return []
        try:
            return load_from_store(self.store)[0]
        except StoreError as exc:
            log.warning("privacy live mode: no stored inventory (%s); every private address is a device", exc)
            return []

    def on_record(self, record: Any) -> None:
        if isinstance(record, Frame):
            self.engine.feed(record)
            self.frames += 1
        elif isinstance(record, NetworkRecord):
            self.engine.feed_record(record)
            self.records += 1
        else:
            self.ignored += 1
            return
        if self.alerts is not None and time.monotonic() >= self._next_check:
            self._next_check = time.monotonic() + ALERT_CHECK_S
            self.check_alerts()

    def check_alerts(self) -> int:
        """Submit an alert for each policy violation and high-confidence leak not alerted yet."""
        if self.alerts is None:
            return 0
        found: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        destinations = list(self.engine.destinations.values())
        names = [d.name for d in self.engine.devices] or sorted({d.device for d in destinations})
        for policy in self.policies:
            for verdict in verdicts(policy, destinations, names, self.engine.last_time):
                if verdict.status == "violation":
                    summary = f"{verdict.device} breaks policy {verdict.policy}: {verdict.reasons[0]}"
                    alert = {**verdict.to_json(), "severity": "high", "summary": summary}
                    found.append((("verdict", verdict.device, verdict.policy), alert))
        for key, leak in list(self.engine.leaks.items()):
            if leak.confidence == "high":
                where = leak.destination.host or leak.destination.address
                summary = f"{leak.device} sends its {leak.identifier} to {where}"
                found.append((("leak", *key), {**leak.to_json(), "severity": "high", "summary": summary}))
        new = [(key, alert) for key, alert in found if key not in self._alerted]
        for key, alert in new:
            self._alerted.add(key)
            self.alerts.submit({**alert, "guard": "privacy"})
        return len(new)

    def snapshot(self) -> Analysis:
        return finish(self.engine, self.frames + self.records, self.policies, None)

    async def stop(self) -> None:
        if self.alerts is not None:
            self.check_alerts()
            routing.release(self.alerts)
        if self.store is None or not self.frames + self.records:
            return
        try:
            run_id = save_to_store(self.store, self.snapshot(), "live", self.policy_texts)
            log.info("privacy live mode: stored as privacy run %d", run_id)
        except StoreError as exc:
            log.warning("privacy live mode: results not stored: %s", exc)


def start(settings: Any, engine: Engine | None) -> LivePrivacy:
    return LivePrivacy(settings, engine, routing.acquire(settings))
