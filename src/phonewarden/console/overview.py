"""The overview's numbers and lists, read from each installed guard's tables, and the hourly chart.

Each tile is one function of the engine; a guard that is not installed (or not migrated) shows as such.
Guards that ship `pages.py` may later supply their own tile and list; see docs/console.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, select, tuple_
from sqlalchemy.exc import OperationalError, ProgrammingError

from phonewarden.guards import import_guard_module
from phonewarden.store.engine import session_factory
from phonewarden.store.models import Finding, Guard

Rows = tuple[list[str], list[list[Any]]]  # column names, rows
Cursor = tuple[Any, ...]  # the sort key of a page's last row: the next page starts after it
Page = tuple[Rows, Cursor | None]  # a page of a list, and the cursor of the next page (None: the last)


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    guard: str
    count: Callable[[Engine, datetime], int]
    rows: Callable[[Engine, datetime, int], Rows]
    href: str = ""  # where the tile links; empty: its generic list /lists/<key>


def _scalar(engine: Engine, query: Any) -> int:
    with session_factory(engine)() as session:
        return int(session.scalar(query) or 0)


def _keyset(
    engine: Engine, query: Any, keys: Sequence[Any], after: Cursor | None, limit: int, *, descending: bool
) -> tuple[list[list[Any]], Cursor | None]:
    """Rows of `query` (its shown columns, then `keys`) ordered by `keys` (unique together), after the cursor.

    Keyset rather than OFFSET: the thousandth page costs what the first does, and new rows do not shift it.
    """
    if after is not None:
        key = tuple_(*keys)  # compared with a plain tuple, each value is bound with its column's type
        query = query.where(key < tuple(after) if descending else key > tuple(after))
    query = query.order_by(*(k.desc() if descending else k.asc() for k in keys)).limit(limit + 1)
    with session_factory(engine)() as session:
        found = [list(row) for row in session.execute(query)]
    shown = [row[: -len(keys)] for row in found[:limit]]
    following = tuple(found[limit - 1][-len(keys) :]) if len(found) > limit else None
    return shown, following


def _bans_count(engine: Engine, now: datetime) -> int:
    from phonewarden.shield.models import ShieldBan

    enforced = (
        ShieldBan.expires_at > now,
        ShieldBan.dry_run.is_(False),
    )  # a dry run's would-be bans block nothing
    return _scalar(engine, select(func.count(ShieldBan.id)).where(*enforced))


def _bans_rows(engine: Engine, now: datetime, limit: int) -> Rows:
    return _bans_page(engine, now, None, limit)[0]


def _bans_page(engine: Engine, now: datetime, after: Cursor | None, limit: int) -> Page:
    from phonewarden.shield.models import ShieldBan as B

    keys = [B.banned_at, B.id]  # newest first
    enforced = (B.expires_at > now, B.dry_run.is_(False))
    query = select(B.address, B.reasons, B.offences, B.banned_at, B.expires_at, *keys).where(*enforced)
    rows, following = _keyset(engine, query, keys, after, limit, descending=True)
    return (["address", "reasons", "offences", "banned at", "expires at"], rows), following


def _fraud_open_alerts(engine: Engine, now: datetime) -> list[dict[str, Any]]:
    """Open fraud alerts (fraud/views.py): high alerts waiting for a person in the service running in
    this process, plus stored high/critical alerts of the last 24 h with no acknowledgement or lift since."""
    from phonewarden.fraud.service import current_service
    from phonewarden.fraud.views import open_alert_rows

    return open_alert_rows(current_service(), engine, now)


def _fraud_count(engine: Engine, now: datetime) -> int:
    return len(_fraud_open_alerts(engine, now))


def _fraud_rows(engine: Engine, now: datetime, limit: int) -> Rows:
    keys = ["account", "detector", "severity", "reason", "estimated_cost", "time", "deadline"]
    columns = ["account", "detector", "severity", "reason", "estimated cost", "raised", "deadline"]
    return columns, [[row[key] for key in keys] for row in _fraud_open_alerts(engine, now)[:limit]]


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
    return _audit_page(engine, now, None, limit)[0]


def _audit_page(engine: Engine, now: datetime, after: Cursor | None, limit: int) -> Page:
    f = _latest_failures()
    keys = [f.c.target, f.c.check, f.c.id]  # by device, then check
    query = select(f.c.target, f.c.vendor, f.c.check, f.c.severity, f.c.detail, f.c.remediation, *keys)
    rows, following = _keyset(engine, query, keys, after, limit, descending=False)
    return (["device", "vendor", "check", "severity", "detail", "fix"], rows), following


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
    return _privacy_page(engine, now, None, limit)[0]


def _privacy_page(engine: Engine, now: datetime, after: Cursor | None, limit: int) -> Page:
    v = _latest_violations()
    keys = [v.c.time, v.c.id]  # newest first
    query = select(v.c.device, v.c.policy, v.c.status, v.c.time, *keys)
    rows, following = _keyset(engine, query, keys, after, limit, descending=True)
    return (["device", "policy", "status", "time"], rows), following


TILES = (
    Tile("bans", "active bans", "shield", _bans_count, _bans_rows),
    Tile("fraud", "open fraud alerts", "fraud", _fraud_count, _fraud_rows, href="/fraud/alerts"),
    Tile("audit", "devices with failed audits", "audit", _audit_count, _audit_rows),
    Tile("privacy", "devices violating a privacy policy", "privacy", _privacy_count, _privacy_rows),
)
TILES_BY_KEY = {tile.key: tile for tile in TILES}
# Lists read page by page from the database, with the types of their cursors; a tile without one shows
# its first rows only (the fraud tile's open alerts are held in memory and few).
PAGES: dict[str, Callable[[Engine, datetime, Cursor | None, int], Page]] = {
    "bans": _bans_page,
    "audit": _audit_page,
    "privacy": _privacy_page,
}
CURSOR_TYPES: dict[str, tuple[type, ...]] = {
    "bans": (datetime, int),
    "audit": (str, str, int),
    "privacy": (datetime, int),
}


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


def tile_page(tile: Tile, engine: Engine, now: datetime, after: Cursor | None, limit: int) -> Page | None:
    """One page of the tile's list; None when its guard is not installed or its tables do not exist yet."""
    if import_guard_module(tile.guard, "models") is None:
        return None
    paged = PAGES.get(tile.key)
    try:
        if paged is None:
            return tile.rows(engine, now, limit), None
        return paged(engine, now, after, limit)
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
