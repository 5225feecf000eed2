"""The endpoint audit's console pages, mounted at /audit (viewer role; see docs/console.md for the contract).

/audit/fleet                 one row per device, its latest stored result: failing checks by severity, worst
                             first (critical, then high failures, then how many fail); filter by site, vendor
/audit/devices/{target}      that result check by check: status, severity, detail, the fix, the guide and
                             standards the rule serves, and the firmware advisories that match the phone

"Latest" is per target: the newest run that checked it, so a phone fixed and linted again drops out of the
worst list while phones of older runs stay. A run's site is the site of its devices.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine, and_, case, func, select
from sqlalchemy.orm import Session

from phonewarden.audit.firmware import Advisory, shipped_advisories
from phonewarden.audit.models import AuditCheck, AuditRun
from phonewarden.audit.policy import rule
from phonewarden.audit.results import SEVERITY_ORDER
from phonewarden.console.auth import Viewer, context
from phonewarden.console.pagination import MAX_CURSOR, encode_cursor, page_key
from phonewarden.console.shell import render
from phonewarden.store.engine import session_factory

router = APIRouter(include_in_schema=False)
NAV = [("Audit fleet", "/audit/fleet")]
PAGE_SIZE = 100  # rows on one page; the next-page link goes on, the API's /runs/{id}/checks has them all
WorstKey = tuple[int, int, int, str]  # DeviceRow.worst_first: the fleet's sort key and its page cursor
SEVERITIES = tuple(SEVERITY_ORDER)  # critical … info
STATUS_ORDER = {"fail": 0, "unknown": 1, "pass": 2}


class Tally(dict[str, int]):
    """Counts that read 0 when absent: a Counter without its cost (the fleet makes 10,000 of them)."""

    def __missing__(self, key: str) -> int:
        return 0


@dataclass
class DeviceRow:
    target: str
    site: str
    run_id: int
    checked: datetime
    vendor: str | None = None
    model: str | None = None
    firmware: str | None = None
    failed: Tally = field(default_factory=Tally)  # severity -> failing checks
    unknown: int = 0

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())

    @property
    def link(self) -> str:
        # Targets are config paths or addresses: "/" travels encoded and the path route takes it back.
        return "/audit/devices/" + quote(self.target, safe="")

    def worst_first(self) -> WorstKey:
        return (-self.failed["critical"], -self.failed["high"], -self.failed_total, self.target)


@dataclass(frozen=True)
class CheckView:
    check: AuditCheck
    telekom: str
    standards: tuple[str, ...]


Counted = dict[
    str, tuple[int, str, datetime, int, dict[str, int]]
]  # target: run, site, start, unknown, failed
Order = list[tuple[WorstKey, str]]  # every target's sort key, worst first
_counted_cache: dict[tuple[Any, ...], tuple[Counted, Order]] = {}  # one entry: the runs it was counted from


def _counted(session: Session) -> tuple[Counted, Order]:
    """Per target, its newest run (id, site, start), unknown checks and failing checks by severity.

    Counting runs on the (target, run_id, status, severity) index alone, in its order, so 10,000 phones
    x 19 checks cost one index scan. A stored run never changes (saved in one transaction with its checks,
    deleted as a whole), so the count is kept until the runs change: their number and highest id tell.
    """
    c = AuditCheck
    state = session.execute(select(func.count(AuditRun.id), func.max(AuditRun.id))).one()
    key = (str(session.get_bind().engine.url), *state)
    cached = _counted_cache.get(key)
    if cached is not None:
        return cached

    def tally(*when: Any) -> Any:
        return func.sum(case((and_(*when), 1), else_=0))

    failing = [tally(c.status == "fail", c.severity == severity) for severity in SEVERITIES]
    counts = select(c.target, c.run_id, tally(c.status == "unknown"), tally(c.status == "fail"), *failing)
    runs = {run.id: run for run in session.execute(select(AuditRun.id, AuditRun.site, AuditRun.started_at))}
    counted: Counted = {}
    # Ordered by target, then run: each target's newest run comes last and stays.
    for target, run_id, unknown, failed, *by_severity in session.execute(
        counts.group_by(c.target, c.run_id).order_by(c.target, c.run_id)
    ):
        by = {s: int(n) for s, n in zip(SEVERITIES, by_severity, strict=True) if n}
        if int(failed) > sum(by.values()):  # a severity outside the scale still counts as failing
            by["other"] = int(failed) - sum(by.values())
        # The run's start stands in for the time of the last check until the facts are read.
        counted[target] = (run_id, runs[run_id].site, runs[run_id].started_at, int(unknown), by)
    order = sorted(
        ((-by.get("critical", 0), -by.get("high", 0), -sum(by.values()), target), target)
        for target, (_, _, _, _, by) in counted.items()
    )
    _counted_cache.clear()  # only the newest state is worth keeping
    _counted_cache[key] = (counted, order)
    return counted, order


def fleet(engine: Engine, site: str | None = None, vendor: str | None = None) -> list[DeviceRow]:
    """Every audited device with its latest result and its facts, worst first."""
    return fleet_window(engine, site, vendor)[0]


def fleet_window(
    engine: Engine,
    site: str | None = None,
    vendor: str | None = None,
    after: WorstKey | None = None,
    limit: int | None = None,
) -> tuple[list[DeviceRow], int]:
    """The first `limit` devices (all when None) worst first after the `after` key, with vendor, model,
    firmware and the time of the last check; and how many devices match the filters after that key.

    The counts and the order come from `_counted`; only the rows shown are built and looked up.
    """
    c = AuditCheck
    latest = select(c.target, func.max(c.run_id).label("run_id")).group_by(c.target).subquery()
    newest = and_(c.target == latest.c.target, c.run_id == latest.c.run_id)
    with session_factory(engine)() as session:
        counted, order = _counted(session)
        targets: set[str] | None = None
        if vendor:
            named = select(c.target).join(latest, newest).where(func.lower(c.vendor) == vendor.lower())
            targets = set(session.scalars(named.distinct()))
        matching = [
            target
            for key, target in order
            if (after is None or key > after)
            and (not site or counted[target][1] == site)
            and (targets is None or target in targets)
        ]
        shown = []
        for target in matching[:limit]:
            run_id, site_, started, unknown, failed = counted[target]
            shown.append(DeviceRow(target, site_, run_id, started, failed=Tally(failed), unknown=unknown))
        for start in range(0, len(shown), 500):
            chunk = {row.target: row for row in shown[start : start + 500]}
            facts = select(
                c.target,
                c.run_id,
                func.max(c.vendor),
                func.max(c.model),
                func.max(c.firmware),
                func.max(c.time),
            )
            facts = facts.where(c.target.in_(chunk)).group_by(c.target, c.run_id)
            for target, run_id, vendor_, model, firmware, checked in session.execute(facts):
                row = chunk[target]
                if run_id == row.run_id:
                    row.vendor, row.model, row.firmware, row.checked = vendor_, model, firmware, checked
    return shown, len(matching)


_choices_cache: dict[tuple[Any, ...], tuple[list[str], list[str]]] = {}  # as _counted_cache


def choices(engine: Engine) -> tuple[list[str], list[str]]:
    """The sites and vendors the stored results name, for the fleet filters (kept while the runs stay)."""
    with session_factory(engine)() as session:
        state = session.execute(select(func.count(AuditRun.id), func.max(AuditRun.id))).one()
        key = (str(engine.url), *state)
        if key in _choices_cache:
            return _choices_cache[key]
        sites = session.scalars(select(AuditRun.site).distinct().order_by(AuditRun.site))
        vendors = session.scalars(
            select(AuditCheck.vendor)
            .where(AuditCheck.vendor.is_not(None))
            .distinct()
            .order_by(AuditCheck.vendor)
        )
        found = list(sites), [v for v in vendors if v]
    _choices_cache.clear()
    _choices_cache[key] = found
    return found


def device_checks(engine: Engine, target: str) -> tuple[AuditRun, list[AuditCheck]] | None:
    """The newest run that checked `target` and its checks of it: failing first, then by severity."""
    with session_factory(engine)() as session:
        run_id = session.scalar(select(func.max(AuditCheck.run_id)).where(AuditCheck.target == target))
        if run_id is None:
            return None
        run = session.get(AuditRun, run_id)
        query = select(AuditCheck).where(AuditCheck.run_id == run_id, AuditCheck.target == target)
        checks = list(session.scalars(query))
        session.expunge_all()
    assert run is not None  # the foreign key holds it
    checks.sort(key=lambda c: (STATUS_ORDER.get(c.status, 3), SEVERITY_ORDER.get(c.severity, 9), c.check))
    return run, checks


def reference(check_id: str) -> tuple[str, tuple[str, ...]]:
    """The Telekom guide item and the standards (BSI, NIST, ETSI, CIS) a rule serves; empty when unknown."""
    try:
        found = rule(check_id)
    except KeyError:
        return "", ()
    return found.telekom, found.standards


def advisories_for(vendor: str | None, model: str | None, firmware: str | None) -> list[Advisory]:
    if not vendor or not model or not firmware:
        return []
    return [a for a in shipped_advisories()[0] if a.matches(vendor, model, firmware)]


Filter = Annotated[str, Query(max_length=255)]


Cursor = Annotated[str, Query(max_length=MAX_CURSOR, description="the next-page cursor from a link")]


def fleet_cursor(text: str) -> WorstKey | None:
    """The sort key a next-page link carried; 422 naming the parameter when it is not one."""
    key = page_key(text, "/audit/fleet", (int, int, int, str))
    return None if key is None else (key[0], key[1], key[2], key[3])


@router.get("/fleet", response_class=HTMLResponse)
def fleet_page(
    request: Request, principal: Viewer, site: Filter = "", vendor: Filter = "", before: Cursor = ""
) -> HTMLResponse:
    engine = context(request).engine
    rows, total = fleet_window(engine, site or None, vendor or None, fleet_cursor(before), PAGE_SIZE + 1)
    sites, vendors = choices(engine)
    shown = rows[:PAGE_SIZE]
    following = ""
    if len(rows) > PAGE_SIZE:
        key = encode_cursor(shown[-1].worst_first())
        following = "/audit/fleet?" + urlencode({"site": site, "vendor": vendor, "before": key})
    page = {
        "rows": shown,
        "total": total,
        "next": following,
        "first": before == "",
        "severities": SEVERITIES,
        "site": site,
        "vendor": vendor,
        "sites": sites,
        "vendors": vendors,
    }
    return render(request, "audit/fleet.html", page, principal=principal)


@router.get("/devices/{target:path}", response_class=HTMLResponse)
def device_page(request: Request, principal: Viewer, target: str) -> HTMLResponse:
    found = device_checks(context(request).engine, target)
    if found is None:
        raise HTTPException(
            404, f"no stored audit result for {target!r}; /audit/fleet lists the audited devices"
        )
    run, checks = found
    views = [CheckView(check, *reference(check.check)) for check in checks]
    vendor = next((c.vendor for c in checks if c.vendor), None)
    model = next((c.model for c in checks if c.model), None)
    firmware = next((c.firmware for c in checks if c.firmware), None)
    page = {
        "target": target,
        "run": run,
        "checks": views,
        "vendor": vendor,
        "model": model,
        "firmware": firmware,
        "counts": Counter(c.status for c in checks),
        "advisories": advisories_for(vendor, model, firmware),
    }
    return render(request, "audit/device.html", page, principal=principal)
