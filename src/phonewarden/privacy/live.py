"""Live mode inside `phonewarden serve`: whatever `serve` hands over feeds one long-running engine.

- a `Frame` (from live capture on `capture.interface`, a mirror port or the router's LAN side) is the
  real input: every destination, name and leak comes from frames;
- a `NetworkRecord` with HEP facts (what the HEP listener gives: SIP signalling copied by a proxy) is
  scanned as a message its sender sent, so a phone putting its MAC or serial into SIP headers is caught
  even without a capture; it adds SIP destinations only;
- a `NetworkRecord` without HEP facts was decoded by the live capture from a frame this guard has had
  already: it is not fed again (that would count its bytes and leaks twice), but a SIP one marks its
  message as seen, so the HEP copy of it is not scanned a second time;
- anything else is counted in `ignored` and dropped.

The inventory is `[privacy] devices_file`, else the one stored in the database (console/API); new-destination
alerts compare with every stored run's destinations. Every `store_interval_s` the results so far replace
this serve's live run in the store (source "live"), and the inventory is checked for changes: when it
changed, the run so far is stored and a new run starts with the new inventory. `stop()` stores once more.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import logging
import time
from collections import OrderedDict
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import SQLAlchemyError

from phonewarden.alerts import routing
from phonewarden.core.records import Frame, Segment
from phonewarden.privacy.detect_new import Baseline, new_destinations
from phonewarden.privacy.engine import PrivacyEngine
from phonewarden.privacy.findings import Destination, NewDestination
from phonewarden.privacy.inventory import Device, InventoryError, load_inventory
from phonewarden.privacy.models import PrivacyDevice, PrivacyRun
from phonewarden.privacy.policy import parse_policy, verdicts
from phonewarden.privacy.repository import inventory, load_from_store, save_analysis
from phonewarden.privacy.service import Analysis, finish
from phonewarden.store.engine import session_factory
from phonewarden.store.errors import StoreError
from phonewarden.wire.traffic import NetworkRecord

log = logging.getLogger(__name__)
ALERT_CHECK_S = 30.0  # how often policy violations, leaks and new destinations are looked for
# A destination is first seen at its SYN or first datagram; its name (SNI, Host) follows within moments.
# It alerts once it is this many seconds (event time) old, so that it alerts under its name, not its address.
NAME_SETTLE_S = 10.0
RECENT_MESSAGES = 16384  # captured SIP messages remembered, for their HEP copies arriving later


class _Recent:
    """A bounded multiset of recent message keys, oldest forgotten first."""

    def __init__(self, limit: int = RECENT_MESSAGES) -> None:
        self.limit = limit
        self.counts: OrderedDict[Hashable, int] = OrderedDict()

    def __contains__(self, key: Hashable) -> bool:
        return key in self.counts

    def add(self, key: Hashable) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1
        self.counts.move_to_end(key)
        if len(self.counts) > self.limit:
            self.counts.popitem(last=False)

    def take(self, key: Hashable) -> bool:
        """Remove one occurrence of key; False if there was none."""
        count = self.counts.get(key, 0)
        if count > 1:
            self.counts[key] = count - 1
        elif count == 1:
            del self.counts[key]
        return count > 0


def _message_key(segment: Segment) -> tuple[Any, ...]:
    # A capture and a HEP agent see the same addresses and bytes, at slightly different times.
    return (segment.transport, segment.src, segment.sport, segment.dst, segment.dport, hash(segment.payload))


def _copied(baseline: Baseline | None) -> Baseline | None:
    return None if baseline is None else Baseline(set(baseline.places), set(baseline.countries))


def _frozen(dest: Destination) -> Destination:
    twin = copy.copy(dest)
    for name in dataclasses.fields(dest):  # its containers (the names seen) too
        value = getattr(dest, name.name)
        if isinstance(value, list | dict | set):
            setattr(twin, name.name, copy.copy(value))
    return twin


def _detached(analysis: Analysis) -> Analysis:
    """The same analysis sharing no object the engine keeps changing, so another thread can store it."""
    copies: dict[int, Destination] = {id(d): _frozen(d) for d in analysis.destinations}

    def own(dest: Destination) -> Destination:
        return copies.get(id(dest)) or _frozen(dest)

    leaks = [dataclasses.replace(leak, destination=own(leak.destination)) for leak in analysis.leaks]
    judged = [
        dataclasses.replace(v, reasons=list(v.reasons), evidence=[own(d) for d in v.evidence])
        for v in analysis.verdicts
    ]
    alerts = [dataclasses.replace(a, destination=own(a.destination)) for a in analysis.alerts]
    # The summary is built afresh by finish(): nothing in it is shared.
    return Analysis(list(copies.values()), leaks, judged, alerts, analysis.summary)


def _new_destination_alert(new: NewDestination) -> dict[str, Any]:
    record = new.to_json()
    summary = f"{new.device} talks to {record.get('host') or record['address']} for the first time"
    if new.new_country:
        summary += f", in a country it never used before ({record['country']})"
    return {**record, "severity": "high" if new.new_country else "medium", "summary": summary}


class LivePrivacy:
    def __init__(
        self, settings: Any, store: Engine | None = None, alerts: routing.AlertRouter | None = None
    ) -> None:
        section = settings.privacy
        self.store = store
        self.devices_file: Path | None = section.devices_file
        self.max_flows: int = section.max_flows
        self.store_interval_s: float = section.store_interval_s
        self.policy_texts = list(section.policies)
        self.policies = [parse_policy(text) for text in section.policies]
        self._inventory_mark = self._inventory_state()  # before reading it: a change in between is seen
        stored_devices, known = self._from_store()
        devices = load_inventory(self.devices_file) if self.devices_file else stored_devices
        self.engine = PrivacyEngine(devices, max_flows=self.max_flows)
        # What was known at start, and what is known now (each new place is added as it alerts, once).
        # None: nothing stored yet, so the first interval is learnt rather than alerted.
        self.start_baseline = _copied(known)
        self.baseline = known
        self.frames = 0
        self.records = 0  # HEP records scanned
        self.decoded = 0  # records the live capture decoded from frames fed already
        self.copies = 0  # HEP records of messages scanned already (from the capture, or a HEP duplicate)
        self.ignored = 0
        self.run_id: int | None = None  # this serve's live run in the store, replaced at each store
        self._fed = 0  # frames and records fed to the current engine
        self._stored_fed = 0  # ... when it was last stored
        self._captured_sip = _Recent()
        self._hep_seen = _Recent()
        self.alerts = alerts
        self._alerted: set[tuple[Any, ...]] = set()  # each violation (device, policy) and leak alerts once
        self._next_check = time.monotonic() + ALERT_CHECK_S
        self._stopping = asyncio.Event()
        self.periodic_task: asyncio.Task[None] | None = None
        self.rounds = 0  # periodic rounds done

    def _from_store(self) -> tuple[list[Device], Baseline | None]:
        if self.store is None:
            return [], None
        try:
            return load_from_store(self.store)
        except StoreError as exc:
            log.warning("privacy live mode: the store cannot be read (%s): no stored inventory or runs, so "
                        "the first interval's destinations are learnt, not alerted", exc)  # fmt: skip
            return [], None

    def _inventory_state(self) -> tuple[Any, ...] | None:
        """A cheap mark that changes when the inventory does (a file's time and size, the table's count,
        highest id and newest update); None when it cannot be read."""
        if self.devices_file:
            try:
                stat = self.devices_file.stat()
            except OSError:
                return None
            return (stat.st_mtime_ns, stat.st_size)
        if self.store is None:
            return None
        query = select(func.count(), func.max(PrivacyDevice.id), func.max(PrivacyDevice.updated_at))
        try:
            with session_factory(self.store)() as session:
                return tuple(session.execute(query.select_from(PrivacyDevice)).one())
        except SQLAlchemyError:
            return None

    def _load_devices(self) -> list[Device] | None:
        try:
            if self.devices_file:
                return load_inventory(self.devices_file)
            if self.store is not None:
                with session_factory(self.store)() as session:
                    return inventory(session)
        except (InventoryError, SQLAlchemyError) as exc:
            log.warning("privacy live mode: the changed inventory is not used, keeping the old one: %s", exc)
        return None

    def metrics(self) -> dict[str, float]:
        """For /metrics: flows evicted from the bounded flow table."""
        return {"evictions_flows": float(self.engine.table.stats.get("flow_evictions", 0))}

    def on_record(self, record: Any) -> None:
        if isinstance(record, Frame):
            self.engine.feed(record)
            self.frames += 1
        elif isinstance(record, NetworkRecord):
            if not self._hep_record(record):
                return
            self.engine.feed_record(record)
            self.records += 1
        else:
            self.ignored += 1
            return
        self._fed += 1
        if self.alerts is not None and time.monotonic() >= self._next_check:
            self._next_check = time.monotonic() + ALERT_CHECK_S
            self.check_alerts()

    def _hep_record(self, record: NetworkRecord[Any]) -> bool:
        """True if the record is to be scanned: a HEP copy of a message not scanned already."""
        key = _message_key(record.segment)
        if record.hep is None:  # decoded from a captured frame, which the engine has had
            self.decoded += 1
            if record.type == "sip":
                self._captured_sip.add(key)
            return False
        exact = (record.segment.time, *key)
        if exact in self._hep_seen or self._captured_sip.take(key):
            self.copies += 1  # the listener's copy of a captured HEP packet, or SIP the capture had
            return False
        self._hep_seen.add(exact)
        return True

    def check_alerts(self, final: bool = False) -> int:
        """Submit an alert for each policy violation, high-confidence leak and new destination not
        alerted yet. New destinations wait NAME_SETTLE_S for their name unless `final`."""
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
        fresh = [alert for key, alert in found if key not in self._alerted]
        self._alerted.update(key for key, _ in found)
        if self.baseline is not None:
            settled = self.engine.last_time - NAME_SETTLE_S
            ready = [d for d in destinations if final or d.first_seen <= settled]
            # new_destinations adds each new place to the baseline: it alerts once.
            fresh.extend(_new_destination_alert(new) for new in new_destinations(self.baseline, ready))
        for alert in fresh:
            self.alerts.submit({**alert, "guard": "privacy"})
        return len(fresh)

    def snapshot(self) -> Analysis:
        """The current run's analysis; its `alerts` are the destinations new since start."""
        return finish(self.engine, self._fed, self.policies, _copied(self.start_baseline))

    def run_periodically(self, interval: float | None = None) -> None:
        """Store and check the inventory every `interval` (default `store_interval_s`) seconds until
        `stop()`; needs a running event loop."""
        if self.store is None and not self.devices_file:
            return  # nothing to store, no inventory to watch
        every = self.store_interval_s if interval is None else interval
        self.periodic_task = asyncio.get_running_loop().create_task(self._every(every))

    async def _every(self, interval: float) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), interval)
            if self._stopping.is_set():
                return
            try:
                await self.tick()
            except Exception:  # a failing round must not end live storing for the rest of the serve
                log.exception("privacy live mode: periodic store failed")
            self.rounds += 1

    async def tick(self) -> None:
        """One periodic round: start over with the inventory if it changed, else store the run so far."""
        if self.alerts is not None:  # also when traffic paused: what settled since alerts now
            self.check_alerts()
        if self.baseline is None:  # nothing was stored before this serve: what it saw so far is known
            self.baseline = Baseline()
            new_destinations(self.baseline, list(self.engine.destinations.values()))
        mark = await asyncio.to_thread(self._inventory_state)
        if mark != self._inventory_mark:
            self._inventory_mark = mark
            devices = await asyncio.to_thread(self._load_devices)
            if devices is not None:
                await self._restart(devices)
                return
        await self.store_run()

    async def _restart(self, devices: list[Device]) -> None:
        log.info("privacy live mode: the inventory changed (%d devices); a new live run starts", len(devices))
        if self.alerts is not None:
            self.check_alerts(final=True)
        last = _detached(self.snapshot()) if self._fed > self._stored_fed else None
        previous_run = self.run_id
        self.engine = PrivacyEngine(devices, max_flows=self.max_flows)
        self.run_id, self._fed, self._stored_fed = None, 0, 0
        if last is not None and self.store is not None:
            await asyncio.to_thread(self._save, self.store, last, previous_run)

    async def store_run(self) -> int | None:
        """Store the results so far as this serve's live run, replacing the previous store; its id."""
        if self.store is None or self._fed == self._stored_fed:
            return self.run_id
        fed = self._fed
        run_id = await asyncio.to_thread(self._save, self.store, _detached(self.snapshot()), self.run_id)
        if run_id is not None:
            self.run_id, self._stored_fed = run_id, fed
        return self.run_id

    def _save(self, store: Engine, analysis: Analysis, replaces: int | None) -> int | None:
        """In a worker thread: the new run and the removal of the one it replaces, in one transaction."""
        try:
            with session_factory(store)() as session, session.begin():
                run = save_analysis(session, analysis, "live", self.policy_texts)
                if replaces is not None:  # its records go with it (ON DELETE CASCADE)
                    session.execute(delete(PrivacyRun).where(PrivacyRun.id == replaces))
                return run.id
        except SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc  # the driver's message, without the SQL text
            log.warning("privacy live mode: results not stored (%s: %s)", type(exc).__name__, reason)
            return None

    async def stop(self) -> None:
        self._stopping.set()
        if self.periodic_task is not None:
            await self.periodic_task  # a round in progress finishes first: two stores never overlap
        if self.alerts is not None:
            self.check_alerts(final=True)
            routing.release(self.alerts)
        run_id = await self.store_run()
        if run_id is not None:
            log.info("privacy live mode: stored as privacy run %d", run_id)


def start(settings: Any, engine: Engine | None) -> LivePrivacy:
    guard = LivePrivacy(settings, engine, routing.acquire(settings))
    guard.run_periodically()
    return guard
