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
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine, bindparam, func, select, tuple_, union_all
from sqlalchemy.exc import OperationalError, ProgrammingError

from phonewarden.console.auth import Operator, Viewer, actor_of, context, now_utc
from phonewarden.console.overview import per_hour
from phonewarden.console.pagination import MAX_CURSOR, encode_cursor, page_key
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
PAGE_SIZE = 100  # bans on one page; the next-page link goes on, the API's /bans has them all
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


BanKey = tuple[datetime, int]  # (expires_at, id) of a page's last ban: the next page starts after it


def _bans(engine: Engine, after: BanKey | None) -> tuple[list[BanRow], BanKey | None, int]:
    """A page of running bans, longest left first (the rest: the next page, or /api/v1/shield/bans), the
    cursor of the next page (None: the last) and how many run in all."""
    b = ShieldBan
    query = select(b).where(b.expires_at > now_utc())
    if after is not None:
        query = query.where(tuple_(b.expires_at, b.id) < tuple_(*after))
    query = query.order_by(b.expires_at.desc(), b.id.desc()).limit(PAGE_SIZE + 1)
    try:
        with session_factory(engine)() as session:
            found = list(session.scalars(query))
        total = BanStore(engine).count_active(include_dry_run=True)
    except (OperationalError, ProgrammingError, StoreError) as exc:
        raise HTTPException(503, f"shield bans: {exc}") from None
    shown = found[:PAGE_SIZE]
    following = (shown[-1].expires_at, shown[-1].id) if len(found) > PAGE_SIZE else None
    rows = [
        BanRow(b.address, list(b.reasons), b.offences, b.banned_at, b.expires_at, b.dry_run) for b in shown
    ]
    return rows, following, total


@lru_cache(maxsize=8)
def _newest_findings(sources: int) -> Any:
    """The UNION ALL of `sources` branches, bound as source_0 … source_<n-1>; built once per size, as a
    page's worth of statement objects made on every request kept the collector busy."""
    branches = [
        select(Finding.id, Finding.subject, Finding.kind, Finding.evidence)
        .where(Finding.subject == bindparam(f"source_{index}"), Finding.guard == Guard.SHIELD)
        .order_by(Finding.id.desc())
        .limit(EVIDENCE_PER_SOURCE)
        .subquery()
        for index in range(sources)
    ]
    newest = union_all(*(select(*branch.c) for branch in branches)).subquery()
    return select(newest.c.subject, newest.c.kind, newest.c.evidence).order_by(
        newest.c.subject, newest.c.id.desc()
    )


def evidence_by_source(engine: Engine, sources: list[str]) -> dict[str, tuple[list[str], list[str]]]:
    """Per source: the detectors of its newest findings and up to SAMPLES_PER_BAN evidence lines.

    One statement for all the sources: a UNION ALL of one short branch per source, each newest first by
    primary key, so a source with 100,000 findings costs what one with ten does (SQLite's subject index
    ends in the id); a window or a plain IN over all the sources read all their findings to keep a few.
    """
    if not sources:
        return {}
    distinct = list(dict.fromkeys(sources))
    query = _newest_findings(len(distinct))
    params = {f"source_{index}": source for index, source in enumerate(distinct)}
    found: dict[str, tuple[list[str], list[str]]] = {}
    with session_factory(engine)() as session:
        for source, kind, evidence in session.execute(query, params):
            detectors, samples = found.setdefault(source, ([], []))
            if kind not in detectors:
                detectors.append(kind)
            lines = evidence.get("samples", []) if isinstance(evidence, dict) else []
            samples.extend(str(line) for line in lines[: SAMPLES_PER_BAN - len(samples)])
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


Cursor = Annotated[str, Query(max_length=MAX_CURSOR, description="the next-page cursor from a link")]


def bans_cursor(text: str) -> BanKey | None:
    """The (expires_at, id) a next-page link carried; 422 naming the parameter when it is not one."""
    key = page_key(text, "/shield/bans", (str, int))
    if key is None:
        return None
    try:
        expires = datetime.fromisoformat(key[0])
    except ValueError:
        expires = None
    if expires is None or expires.tzinfo is None:
        raise HTTPException(422, f"before: {text[:40]!r} is not a cursor of /shield/bans: follow its link")
    return expires, key[1]


@router.get("/bans", response_class=HTMLResponse)
def bans_page(request: Request, principal: Viewer, before: Cursor = "") -> HTMLResponse:
    engine = context(request).engine
    rows, following, total = _bans(engine, bans_cursor(before))
    evidence = evidence_by_source(engine, [row.address for row in rows])
    views = [BanView(row, *evidence.get(row.address, ([], []))) for row in rows]
    cursor = encode_cursor((following[0].isoformat(), following[1])) if following else ""
    page = {
        "bans": views,
        "total": total,
        "first": before == "",
        "next": f"/shield/bans?{urlencode({'before': cursor})}" if cursor else "",
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
