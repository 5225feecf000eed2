"""The shield's console pages, mounted at /shield (viewer role; see docs/console.md for the contract).

/shield/bans           active bans: reasons, offences (escalation count), until, evidence samples; unban;
                       would-be bans of a dry run are listed too, marked
/shield/activity       shield findings per hour (the overview's uPlot chart) and the top sources
POST /shield/bans/ban     an operator bans an address or network by hand (minutes, reason); never one the
                          shield may not block (never_block settings, `shield allow` networks)
POST /shield/bans/unban   operator role and CSRF (checked by `Operator`), written to the audit log

The address to unban travels in a form field, not in the path: an IPv6 ban key is a /64 network.
Unbanning removes the stored ban and tells the running shield (live.py) to lift it in its enforcers.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine, func, select

from phonewarden.console.auth import Operator, Viewer, actor_of, context, now_utc
from phonewarden.console.overview import per_hour
from phonewarden.console.policy import Role
from phonewarden.console.shell import render
from phonewarden.shield import live
from phonewarden.shield.bans import BanRow, BanStore
from phonewarden.shield.enforce import canonical, check_duration, clean_reason
from phonewarden.shield.models import ShieldBan
from phonewarden.shield.policy import Policy
from phonewarden.store.engine import session_factory
from phonewarden.store.errors import StoreError
from phonewarden.store.models import Finding, Guard

router = APIRouter(include_in_schema=False)
NAV = [("Shield bans", "/shield/bans"), ("Shield activity", "/shield/activity")]
MAX_BANS = 500  # shown on one page; the API's /bans has them all
SAMPLES_PER_BAN = 3
EVIDENCE_PER_SOURCE = 10  # newest findings per shown ban read for its detectors and samples
TOP_SOURCES = 20
HOURS = 24
MAX_MANUAL_MINUTES = 30 * 24 * 60


@dataclass(frozen=True)
class BanView:
    ban: BanRow
    detectors: list[str]
    samples: list[str]


def _bans(engine: Engine) -> tuple[list[BanRow], int]:
    """The first MAX_BANS running bans (the rest: /api/v1/shield/bans) and how many run in all."""
    store = BanStore(engine)
    try:
        return store.active_bans(include_dry_run=True, limit=MAX_BANS), store.count_active(
            include_dry_run=True
        )
    except StoreError as exc:
        raise HTTPException(503, str(exc)) from None


def evidence_by_source(engine: Engine, sources: list[str]) -> dict[str, tuple[list[str], list[str]]]:
    """Per source: the detectors of its newest findings and up to SAMPLES_PER_BAN evidence lines.

    One short query per source, newest first by primary key, so a source with 100,000 findings costs what
    one with ten does (SQLite's subject index ends in the id); one query over all the sources read all
    their findings to keep the newest few.
    """
    found: dict[str, tuple[list[str], list[str]]] = {}
    with session_factory(engine)() as session:
        for source in sources:
            query = (
                select(Finding.kind, Finding.evidence)
                .where(Finding.subject == source, Finding.guard == Guard.SHIELD)
                .order_by(Finding.id.desc())
                .limit(EVIDENCE_PER_SOURCE)
            )
            detectors: list[str] = []
            samples: list[str] = []
            for kind, evidence in session.execute(query):
                if kind not in detectors:
                    detectors.append(kind)
                lines = evidence.get("samples", []) if isinstance(evidence, dict) else []
                samples.extend(str(line) for line in lines[: SAMPLES_PER_BAN - len(samples)])
            if detectors:
                found[source] = (detectors, samples)
    return found


def top_sources(engine: Engine, since: datetime, limit: int = TOP_SOURCES) -> list[dict[str, Any]]:
    """The sources with the most shield findings since `since`, with their detectors and whether banned.

    One pass over the time range (the (guard, time) index), counted per source and detector.
    """
    query = (
        select(Finding.subject, Finding.kind, func.count(Finding.id), func.max(Finding.time))
        .where(Finding.guard == Guard.SHIELD, Finding.time >= since)
        .group_by(Finding.subject, Finding.kind)
    )
    totals: dict[str, int] = defaultdict(int)
    kinds: dict[str, set[str]] = defaultdict(set)
    last: dict[str, datetime] = {}
    with session_factory(engine)() as session:
        for subject, kind, count, newest in session.execute(query):
            totals[subject] += int(count)
            kinds[subject].add(kind)
            last[subject] = max(last.get(subject, newest), newest)
        subjects = sorted(totals, key=lambda source: (-totals[source], source))[:limit]
        banned = set(
            session.scalars(
                select(ShieldBan.address).where(
                    ShieldBan.address.in_(subjects),
                    ShieldBan.expires_at > now_utc(),
                    ShieldBan.dry_run.is_(False),  # a would-be ban of a dry run blocks nothing
                )
            )
        )
    return [
        {
            "source": subject,
            "findings": totals[subject],
            "detectors": sorted(kinds[subject]),
            "last_seen": last[subject],
            "banned": subject in banned,
        }
        for subject in subjects
    ]


def hourly(engine: Engine, now: datetime, hours: int = HOURS) -> dict[str, list[int]]:
    """Shield findings and bans per hour, in the shape the console's overview.js draws."""
    start = (now - timedelta(hours=hours - 1)).replace(minute=0, second=0, microsecond=0)
    labels = [start + timedelta(hours=i) for i in range(hours)]
    keys = [label.strftime("%Y-%m-%d %H:00") for label in labels]
    findings = per_hour(engine, Finding.time, start, Finding.guard == Guard.SHIELD)
    bans = per_hour(engine, ShieldBan.banned_at, start, ShieldBan.dry_run.is_(False))
    return {
        "hours": [int(label.timestamp()) for label in labels],
        "findings": [findings.get(key, 0) for key in keys],
        "bans": [bans.get(key, 0) for key in keys],
    }


@router.get("/bans", response_class=HTMLResponse)
def bans_page(request: Request, principal: Viewer) -> HTMLResponse:
    engine = context(request).engine
    rows, total = _bans(engine)
    evidence = evidence_by_source(engine, [row.address for row in rows])
    views = [BanView(row, *evidence.get(row.address, ([], []))) for row in rows]
    page = {
        "bans": views,
        "total": total,
        "limit": MAX_BANS,
        "can_unban": principal.role.allows(Role.OPERATOR),
        "unbanned": request.query_params.get("unbanned", ""),
        "banned": request.query_params.get("banned", ""),
        "max_minutes": MAX_MANUAL_MINUTES,
    }
    return render(request, "shield/bans.html", page, principal=principal)


@router.post("/bans/ban")
def ban(
    request: Request,
    principal: Operator,
    address: Annotated[str, Form(max_length=64)],
    minutes: Annotated[int, Form(ge=1, le=MAX_MANUAL_MINUTES)],
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    ctx, actor = context(request), actor_of(request, principal)
    try:
        key = canonical(address)
        duration_s = check_duration(minutes * 60)
    except ValueError as exc:
        ctx.accounts.audit(actor, "shield.ban", address[:64], outcome="failed")
        raise HTTPException(422, f"cannot ban {address!r}: {exc}") from None
    store = BanStore(ctx.engine)
    try:
        protected = Policy(request.app.state.settings.shield, store.allowed()).never_blocked(key)
        if protected is not None:
            ctx.accounts.audit(actor, "shield.ban", key, outcome="denied")
            raise HTTPException(409, f"{key} lies in {protected}, which the shield never blocks")
        why = clean_reason(f"manual by {principal.name}: {reason.strip() or 'no reason given'}")
        store.save_ban(key, duration_s, [why], 1)
    except StoreError as exc:
        raise HTTPException(503, str(exc)) from None
    ctx.accounts.audit(actor, "shield.ban", key, outcome="ok")
    live.impose(ctx.engine, key, duration_s, why)  # the running shield's enforcers drop it now
    return RedirectResponse(f"/shield/bans?banned={key}", status_code=303)


@router.post("/bans/unban")
def unban(request: Request, principal: Operator, address: Annotated[str, Form(max_length=64)]) -> Response:
    ctx = context(request)
    try:
        key = canonical(address)
    except ValueError as exc:
        ctx.accounts.audit(actor_of(request, principal), "shield.unban", address[:64], outcome="failed")
        raise HTTPException(422, f"cannot unban {address!r}: {exc}") from None
    try:
        removed = BanStore(ctx.engine).remove_ban(key)
    except StoreError as exc:
        raise HTTPException(503, str(exc)) from None
    outcome = "ok" if removed else "failed"
    ctx.accounts.audit(actor_of(request, principal), "shield.unban", key, outcome=outcome)
    if not removed:
        raise HTTPException(404, f"{key} is not banned")
    live.lift(ctx.engine, key)  # the running shield drops the firewall rule and forgets the ban now
    return RedirectResponse(f"/shield/bans?unbanned={key}", status_code=303)


@router.get("/activity", response_class=HTMLResponse)
def activity_page(request: Request, principal: Viewer) -> HTMLResponse:
    engine, now = context(request).engine, now_utc()
    page = {
        "chart": json.dumps(hourly(engine, now)),
        "sources": top_sources(engine, now - timedelta(hours=HOURS)),
        "hours": HOURS,
    }
    return render(request, "shield/activity.html", page, principal=principal)
