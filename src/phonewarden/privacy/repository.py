"""The privacy guard's stored data: inventory CRUD, saving an analysis, reading runs and their records.

Functions take the caller's session and never commit: the caller owns the transaction. Inventory
entries are validated exactly like the JSON/TOML inventory (`inventory.parse_device`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from phonewarden.privacy.detect_new import Baseline
from phonewarden.privacy.inventory import Device, InventoryError, parse_device
from phonewarden.privacy.models import (
    PrivacyDestination,
    PrivacyDevice,
    PrivacyLeak,
    PrivacyRun,
    PrivacyVerdict,
)
from phonewarden.privacy.service import Analysis
from phonewarden.store.engine import session_factory
from phonewarden.store.errors import StoreError

MAX_LIST_LIMIT = 10_000
_RECORD_MODELS: dict[str, Any] = {
    "destinations": PrivacyDestination,
    "leaks": PrivacyLeak,
    "verdicts": PrivacyVerdict,
}
_NOT_MIGRATED = "cannot use the privacy tables ({}): run `phonewarden db upgrade` first"


class InventoryConflict(InventoryError):
    """The entry is valid but clashes with a stored one: its name or one of its IP addresses is taken."""


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def as_device(row: PrivacyDevice) -> Device:
    return Device(name=row.name, kind=row.kind, ips=list(row.ips), identifiers=dict(row.identifiers))


def list_devices(session: Session) -> list[PrivacyDevice]:
    return list(session.scalars(select(PrivacyDevice).order_by(PrivacyDevice.name)))


def get_device(session: Session, name: str) -> PrivacyDevice | None:
    return session.scalars(select(PrivacyDevice).where(PrivacyDevice.name == name)).first()


def _check_ips(session: Session, device: Device, keep: PrivacyDevice | None) -> None:
    for row in list_devices(session):
        if row is not keep and set(row.ips) & set(device.ips):
            shared = sorted(set(row.ips) & set(device.ips))
            raise InventoryConflict(
                f"device {device.name!r}: ip {', '.join(shared)} is already given to {row.name!r}"
            )


def add_device(session: Session, entry: Any, where: str = "device") -> PrivacyDevice:
    """Validate and store a new inventory entry; InventoryConflict if its name or an IP is taken."""
    device = parse_device(entry, where)
    if get_device(session, device.name) is not None:
        raise InventoryConflict(f"{where}: a device named {device.name!r} already exists")
    _check_ips(session, device, None)
    row = PrivacyDevice(name=device.name, kind=device.kind, ips=device.ips, identifiers=device.identifiers)
    session.add(row)
    session.flush()
    return row


def replace_device(session: Session, row: PrivacyDevice, entry: Any, where: str = "device") -> PrivacyDevice:
    """Replace every field of a stored entry (renaming is allowed when the new name is free)."""
    device = parse_device(entry, where)
    if device.name != row.name and get_device(session, device.name) is not None:
        raise InventoryConflict(f"{where}: a device named {device.name!r} already exists")
    _check_ips(session, device, row)
    row.name, row.kind, row.ips, row.identifiers = device.name, device.kind, device.ips, device.identifiers
    session.flush()
    return row


def remove_device(session: Session, name: str) -> bool:
    """Delete the entry named `name`; False if there is none. Stored results keep the name."""
    row = get_device(session, name)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def inventory(session: Session) -> list[Device]:
    """The stored inventory, as the engine takes it."""
    return [as_device(row) for row in list_devices(session)]


def save_analysis(session: Session, analysis: Analysis, source: str, policies: list[str]) -> PrivacyRun:
    """Store one analysis (destinations, leaks, verdicts and the summary) as a new run."""
    summary = analysis.summary
    last_seen = _at(summary.time_seen) if summary.frames else None
    run = PrivacyRun(source=source[:1024], frames=summary.frames, policies=list(policies),
                     summary=summary.to_json(), last_seen=last_seen)  # fmt: skip
    for dest in analysis.destinations:
        run.destinations.append(PrivacyDestination(
            device=dest.device, address=dest.address, port=dest.port, transport=dest.transport,
            host=dest.host, country=dest.country, first_seen=_at(dest.first_seen),
            record=dest.to_json()))  # fmt: skip
    for leak in analysis.leaks:
        run.leaks.append(PrivacyLeak(
            time=_at(leak.time_seen), device=leak.device, identifier=leak.identifier, encoding=leak.encoding,
            confidence=leak.confidence, address=leak.destination.address, country=leak.destination.country,
            evidence=leak.evidence, record=leak.to_json()))  # fmt: skip
    for verdict in analysis.verdicts:
        run.verdicts.append(PrivacyVerdict(
            time=_at(verdict.time_seen), device=verdict.device, policy=verdict.policy,
            status=verdict.status, record=verdict.to_json()))  # fmt: skip
    session.add(run)
    session.flush()
    return run


def stored_baseline(session: Session) -> Baseline | None:
    """Every destination of every stored run, as the baseline for new-destination alerts (None if none)."""
    records = [row.record for row in session.scalars(select(PrivacyDestination))]
    return Baseline.from_records(records) if records else None


def list_runs(session: Session, limit: int = 50) -> list[PrivacyRun]:
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIST_LIMIT}, got {limit}")
    return list(session.scalars(select(PrivacyRun).order_by(PrivacyRun.id.desc()).limit(limit)))


def run_records(session: Session, run_id: int, kind: str, **filters: str | None) -> list[dict[str, Any]]:
    """The stored JSON records of one run: kind is destinations, leaks or verdicts; filters by column."""
    model = _RECORD_MODELS[kind]
    query = select(model).where(model.run_id == run_id).order_by(model.id)
    for column, value in filters.items():
        if value is not None:
            query = query.where(getattr(model, column) == value)
    return [row.record for row in session.scalars(query)]


@dataclass
class DeviceResults:
    """One device's records from one stored run (the JSON records `analyze --json` prints)."""

    device: str
    run: PrivacyRun
    destinations: list[dict[str, Any]] = field(default_factory=list)
    leaks: list[dict[str, Any]] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)


def latest_runs(session: Session) -> dict[str, int]:
    """Per device named in stored results: the id of the newest run holding records for it."""
    newest: dict[str, int] = {}
    for model in (PrivacyDestination, PrivacyLeak, PrivacyVerdict):
        query = select(model.device, func.max(model.run_id)).group_by(model.device)
        for device, run_id in session.execute(query):
            newest[device] = max(newest.get(device, 0), int(run_id))
    return newest


def latest_results(session: Session, device: str | None = None) -> dict[str, DeviceResults]:
    """Each device's records from its newest run (only `device`'s when given), keyed by device."""
    newest = latest_runs(session)
    if device is not None:
        newest = {device: newest[device]} if device in newest else {}
    run_ids = set(newest.values())
    if not run_ids:
        return {}
    runs = {run.id: run for run in session.scalars(select(PrivacyRun).where(PrivacyRun.id.in_(run_ids)))}
    results = {name: DeviceResults(name, runs[run_id]) for name, run_id in newest.items()}
    for kind, model in _RECORD_MODELS.items():
        query = select(model.device, model.run_id, model.record).where(model.run_id.in_(run_ids))
        if device is not None:
            query = query.where(model.device == device)
        for name, run_id, record in session.execute(query.order_by(model.id)):
            if newest.get(name) == run_id:
                getattr(results[name], kind).append(record)
    return results


def load_from_store(engine: Engine) -> tuple[list[Device], Baseline | None]:
    """The stored inventory and the baseline of all stored runs; StoreError when the tables are missing."""
    try:
        with session_factory(engine)() as session:
            return inventory(session), stored_baseline(session)
    except (OperationalError, ProgrammingError) as exc:
        raise StoreError(_NOT_MIGRATED.format(type(exc).__name__)) from None


def save_to_store(engine: Engine, analysis: Analysis, source: str, policies: list[str]) -> int:
    """Save one analysis in its own transaction; the new run's id."""
    try:
        with session_factory(engine)() as session, session.begin():
            return save_analysis(session, analysis, source, policies).id
    except (OperationalError, ProgrammingError) as exc:
        raise StoreError(_NOT_MIGRATED.format(type(exc).__name__)) from None
