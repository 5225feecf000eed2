"""The overview's numbers and lists, read from each installed guard's tables, and the hourly chart.

Each tile is one function of the engine; a guard that is not installed (or not migrated) shows as such.
Guards that ship `pages.py` may later supply their own tile and list; see docs/console.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from phonewarden.guards import import_guard_module
from phonewarden.store.engine import session_factory
from phonewarden.store.models import Finding, Guard

Rows = tuple[list[str], list[list[Any]]]  # column names, rows


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    guard: str
    count: Callable[[Engine, datetime], int]
    rows: Callable[[Engine, datetime, int], Rows]


def _scalar(engine: Engine, query: Any) -> int:
    with session_factory(engine)() as session:
        return int(session.scalar(query) or 0)


def _fetch(engine: Engine, query: Any, limit: int) -> list[list[Any]]:
    with session_factory(engine)() as session:
        return [list(row) for row in session.execute(query.limit(limit))]


def _bans_count(engine: Engine, now: datetime) -> int:
    from phonewarden.shield.models import ShieldBan

    enforced = (
        ShieldBan.expires_at > now,
        ShieldBan.dry_run.is_(False),
    )  # a dry run's would-be bans block nothing
    return _scalar(engine, select(func.count(ShieldBan.id)).where(*enforced))


def _bans_rows(engine: Engine, now: datetime, limit: int) -> Rows:
    from phonewarden.shield.models import ShieldBan

    columns = [
        ShieldBan.address,
        ShieldBan.reasons,
        ShieldBan.offences,
        ShieldBan.banned_at,
        ShieldBan.expires_at,
    ]
    enforced = (ShieldBan.expires_at > now, ShieldBan.dry_run.is_(False))
    query = select(*columns).where(*enforced).order_by(ShieldBan.banned_at.desc())
    return ["address", "reasons", "offences", "banned at", "expires at"], _fetch(engine, query, limit)


def _fraud_open(now: datetime) -> Any:
    from phonewarden.fraud.models import FraudRestriction as R

    return R, (R.lifted_at.is_(None), R.until > now)


def _fraud_count(engine: Engine, now: datetime) -> int:
    model, where = _fraud_open(now)
    return _scalar(engine, select(func.count(model.id)).where(*where))


def _fraud_rows(engine: Engine, now: datetime, limit: int) -> Rows:
    r, where = _fraud_open(now)
    query = select(r.account, r.destination, r.level, r.reason, r.time, r.until).where(*where)
    return ["account", "destination", "level", "reason", "since", "until"], _fetch(
        engine, query.order_by(r.time.desc()), limit
    )


def _latest_failures() -> Any:
    """Failed checks from each device's newest run: a phone fixed and audited again no longer counts."""
    from phonewarden.audit.models import AuditCheck as C

    latest = select(C.target, func.max(C.run_id).label("run_id")).group_by(C.target).subquery()
    newest = and_(C.target == latest.c.target, C.run_id == latest.c.run_id)
    return select(C).join(latest, newest).where(C.status == "fail").subquery()


def _audit_count(engine: Engine, now: datetime) -> int:
    failed = _latest_failures()
    return _scalar(engine, select(func.count(func.distinct(failed.c.target))))


def _audit_rows(engine: Engine, now: datetime, limit: int) -> Rows:
    f = _latest_failures()
    query = select(f.c.target, f.c.vendor, f.c.check, f.c.severity, f.c.detail, f.c.remediation)
    return ["device", "vendor", "check", "severity", "detail", "fix"], _fetch(
        engine, query.order_by(f.c.target, f.c.check), limit
    )


def _latest_violations() -> Any:
    """Violation verdicts from each device's newest run, as /privacy/devices shows them."""
    from phonewarden.privacy.models import PrivacyVerdict as V

    latest = select(V.device, func.max(V.run_id).label("run_id")).group_by(V.device).subquery()
    newest = and_(V.device == latest.c.device, V.run_id == latest.c.run_id)
    return select(V).join(latest, newest).where(V.status == "violation").subquery()


def _privacy_count(engine: Engine, now: datetime) -> int:
    violations = _latest_violations()
    return _scalar(engine, select(func.count(func.distinct(violations.c.device))))


def _privacy_rows(engine: Engine, now: datetime, limit: int) -> Rows:
    v = _latest_violations()
    query = select(v.c.device, v.c.policy, v.c.status, v.c.time).order_by(v.c.time.desc())
    return ["device", "policy", "status", "time"], _fetch(engine, query, limit)


TILES = (
    Tile("bans", "active bans", "shield", _bans_count, _bans_rows),
    Tile("fraud", "open fraud alerts", "fraud", _fraud_count, _fraud_rows),
    Tile("audit", "devices with failed audits", "audit", _audit_count, _audit_rows),
    Tile("privacy", "devices violating a privacy policy", "privacy", _privacy_count, _privacy_rows),
)
TILES_BY_KEY = {tile.key: tile for tile in TILES}


def tile_count(tile: Tile, engine: Engine, now: datetime) -> int | None:
    """The tile's number, or None when its guard is not installed or its tables do not exist yet."""
    if import_guard_module(tile.guard, "models") is None:
        return None
    try:
        return tile.count(engine, now)
    except (OperationalError, ProgrammingError):
        return None


def tile_rows(tile: Tile, engine: Engine, now: datetime, limit: int = 500) -> Rows | None:
    if import_guard_module(tile.guard, "models") is None:
        return None
    try:
        return tile.rows(engine, now, limit)
    except (OperationalError, ProgrammingError):
        return None


def _hour_bucket(engine: Engine, column: Any) -> Any:
    if engine.dialect.name == "postgresql":
        return func.to_char(func.date_trunc("hour", column), "YYYY-MM-DD HH24:00")
    return func.strftime("%Y-%m-%d %H:00", column)


def hourly_series(engine: Engine, now: datetime, hours: int = 24) -> dict[str, Any]:
    """Findings and bans per hour for the last `hours` hours, as parallel lists (hours in epoch seconds)."""
    start = (now - timedelta(hours=hours - 1)).replace(minute=0, second=0, microsecond=0)
    labels = [start + timedelta(hours=i) for i in range(hours)]
    keys = [label.strftime("%Y-%m-%d %H:00") for label in labels]
    # guard IN (all): lets the (guard, time) index serve the time range instead of a full scan.
    findings = per_hour(engine, Finding.time, start, Finding.guard.in_(list(Guard)))
    bans: dict[str, int] = {}
    if import_guard_module("shield", "models") is not None:
        from phonewarden.shield.models import ShieldBan

        bans = per_hour(engine, ShieldBan.banned_at, start, ShieldBan.dry_run.is_(False))
    return {
        "hours": [int(label.timestamp()) for label in labels],
        "findings": [findings.get(key, 0) for key in keys],
        "bans": [bans.get(key, 0) for key in keys],
    }


def per_hour(engine: Engine, column: Any, start: datetime, also: Any) -> dict[str, int]:
    bucket = _hour_bucket(engine, column)
    query = select(bucket, func.count()).where(column >= start).group_by(bucket)
    if also is not None:
        query = query.where(also)
    try:
        with session_factory(engine)() as session:
            return {str(key): int(count) for key, count in session.execute(query)}
    except (OperationalError, ProgrammingError):
        return {}
