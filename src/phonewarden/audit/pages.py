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
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine, and_, func, select

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


@dataclass
class DeviceRow:
    target: str
    site: str
    run_id: int
    checked: datetime
    vendor: str | None = None
    model: str | None = None
    firmware: str | None = None
    failed: Counter[str] = field(default_factory=Counter)  # severity -> failing checks
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


def fleet(engine: Engine, site: str | None = None, vendor: str | None = None) -> list[DeviceRow]:
    """Every audited device with its latest result, worst first."""
    latest = (
        select(AuditCheck.target, func.max(AuditCheck.run_id).label("run_id"))
        .group_by(AuditCheck.target)
        .subquery()
    )
    query = (
        select(AuditCheck, AuditRun.site)
        .join(latest, and_(AuditCheck.target == latest.c.target, AuditCheck.run_id == latest.c.run_id))
        .join(AuditRun, AuditRun.id == AuditCheck.run_id)
        .order_by(AuditCheck.id)
    )
    if site:
        query = query.where(AuditRun.site == site)
    devices: dict[str, DeviceRow] = {}
    with session_factory(engine)() as session:
        for check, run_site in session.execute(query):
            new = DeviceRow(check.target, run_site, check.run_id, check.time)
            row = devices.setdefault(check.target, new)
            row.vendor = row.vendor or check.vendor
            row.model = row.model or check.model
            row.firmware = row.firmware or check.firmware
            row.checked = max(row.checked, check.time)
            if check.status == "fail":
                row.failed[check.severity] += 1
            elif check.status == "unknown":
                row.unknown += 1
    rows = list(devices.values())
    if vendor:
        rows = [row for row in rows if (row.vendor or "").lower() == vendor.lower()]
    return sorted(rows, key=DeviceRow.worst_first)


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
    rows = fleet(engine, site or None, vendor or None)
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
