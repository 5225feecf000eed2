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
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine, and_, case, func, select

from phonewarden.audit.firmware import Advisory, shipped_advisories
from phonewarden.audit.models import AuditCheck, AuditRun
from phonewarden.audit.policy import rule
from phonewarden.audit.results import SEVERITY_ORDER
from phonewarden.console.auth import Viewer, context
from phonewarden.console.shell import render
from phonewarden.store.engine import session_factory

router = APIRouter(include_in_schema=False)
NAV = [("Audit fleet", "/audit/fleet")]
MAX_DEVICES = 1000  # rows on one page; the API's /runs/{id}/checks has them all
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

    def worst_first(self) -> tuple[int, int, int, str]:
        return (-self.failed["critical"], -self.failed["high"], -self.failed_total, self.target)


@dataclass(frozen=True)
class CheckView:
    check: AuditCheck
    telekom: str
    standards: tuple[str, ...]


def fleet(
    engine: Engine, site: str | None = None, vendor: str | None = None, detailed: int | None = None
) -> list[DeviceRow]:
    """Every audited device with its latest result, worst first; vendor, model, firmware and the time of
    the last check are read for the first `detailed` rows (all when None).

    Counting runs on the (target, run_id, status, severity) index alone, in its order, so 10,000 phones
    x 19 checks cost one index scan; only the rows a page shows are looked up in the table.
    """
    c = AuditCheck

    def tally(*when: Any) -> Any:
        return func.sum(case((and_(*when), 1), else_=0))

    failing = [tally(c.status == "fail", c.severity == severity) for severity in SEVERITIES]
    counts = select(c.target, c.run_id, tally(c.status == "unknown"), tally(c.status == "fail"), *failing)
    latest = select(c.target, func.max(c.run_id).label("run_id")).group_by(c.target).subquery()
    newest = and_(c.target == latest.c.target, c.run_id == latest.c.run_id)
    with session_factory(engine)() as session:
        runs = {
            run.id: run for run in session.execute(select(AuditRun.id, AuditRun.site, AuditRun.started_at))
        }
        devices: dict[str, DeviceRow] = {}
        # Ordered by target, then run: each target's newest run comes last and stays.
        for target, run_id, unknown, failed, *by_severity in session.execute(
            counts.group_by(c.target, c.run_id).order_by(c.target, c.run_id)
        ):
            # The run's start stands in for the time of the last check until the facts are read.
            row = DeviceRow(target, runs[run_id].site, run_id, runs[run_id].started_at, unknown=int(unknown))
            row.failed.update({s: int(n) for s, n in zip(SEVERITIES, by_severity, strict=True) if n})
            if int(failed) > row.failed_total:  # a severity outside the scale still counts as failing
                row.failed["other"] = int(failed) - row.failed_total
            devices[target] = row
        rows = [row for row in devices.values() if not site or row.site == site]
        if vendor:
            named = select(c.target).join(latest, newest).where(func.lower(c.vendor) == vendor.lower())
            targets = set(session.scalars(named.distinct()))
            rows = [row for row in rows if row.target in targets]
        rows.sort(key=DeviceRow.worst_first)
        shown = rows if detailed is None else rows[:detailed]
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
    return rows


def choices(engine: Engine) -> tuple[list[str], list[str]]:
    """The sites and vendors the stored results name, for the fleet filters."""
    with session_factory(engine)() as session:
        sites = session.scalars(select(AuditRun.site).distinct().order_by(AuditRun.site))
        vendors = session.scalars(
            select(AuditCheck.vendor)
            .where(AuditCheck.vendor.is_not(None))
            .distinct()
            .order_by(AuditCheck.vendor)
        )
        return list(sites), [v for v in vendors if v]


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


@router.get("/fleet", response_class=HTMLResponse)
def fleet_page(request: Request, principal: Viewer, site: Filter = "", vendor: Filter = "") -> HTMLResponse:
    engine = context(request).engine
    rows = fleet(engine, site or None, vendor or None, detailed=MAX_DEVICES)
    sites, vendors = choices(engine)
    page = {
        "rows": rows[:MAX_DEVICES],
        "total": len(rows),
        "limit": MAX_DEVICES,
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
