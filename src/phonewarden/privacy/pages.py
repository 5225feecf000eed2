"""The privacy monitor's console pages, mounted at /privacy (viewer role; docs/console.md: the contract).

/privacy/devices            one row per device, worst first: verdicts, leaks by confidence, countries,
                            last seen
/privacy/devices/{name}     its newest stored run: destinations by country (a bar chart), destinations,
                            leaks with their redacted evidence, verdicts with their reasons
/privacy/inventory          the stored inventory; add and remove an entry (operators)
POST /privacy/inventory/add, /privacy/inventory/remove: operator role and CSRF (checked by `Operator`),
written to the console's audit log. Entries are validated like the --devices file and the API
(`inventory.parse_device` through the repository), in one transaction: a refused entry writes nothing.

The bar chart is SVG drawn on the server: the CSP (default-src 'self') allows no inline script or style.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import pycountry
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from phonewarden.console.auth import Operator, Viewer, actor_of, context
from phonewarden.console.pagination import MAX_CURSOR, encode_cursor, page_key
from phonewarden.console.policy import Role
from phonewarden.console.sessions import Principal
from phonewarden.console.shell import render
from phonewarden.privacy import repository
from phonewarden.privacy.inventory import IDENTIFIER_FIELDS, InventoryError
from phonewarden.privacy.models import (
    PrivacyDestination,
    PrivacyDevice,
    PrivacyLeak,
    PrivacyRun,
    PrivacyVerdict,
)
from phonewarden.privacy.report import ENCODING_NAMES, IDENTIFIER_NAMES
from phonewarden.store.engine import session_factory

router = APIRouter(include_in_schema=False)
NAV = [("Privacy devices", "/privacy/devices"), ("Privacy inventory", "/privacy/inventory")]
# Worst first: a policy violation, then certain leaks, then doubt, then possible leaks.
STATUS_RANK = {"violation": 0, "uncertain": 1, "ok": 2, "no verdict": 3, "not analysed": 4}
BAR_WIDTH = 320  # px of the longest bar in the country chart
PAGE_SIZE = 100  # devices on one page; the next-page link goes on
MAX_DESTINATIONS = 1_000  # rows shown on a device page; the API has them all
FORM_FIELDS = ("ip", "mac", *(key for key in IDENTIFIER_FIELDS if key != "mac"))
_SPLIT = re.compile(r"[,\s]+")


class DeviceForm(BaseModel):
    """The inventory form: every field but name and kind takes several values, comma separated."""

    name: str = Field(default="", max_length=255)
    kind: str = Field(default="", max_length=64)
    ip: str = Field(default="", max_length=1024)
    mac: str = Field(default="", max_length=1024)
    imei: str = Field(default="", max_length=1024)
    imsi: str = Field(default="", max_length=1024)
    iccid: str = Field(default="", max_length=1024)
    msisdn: str = Field(default="", max_length=1024)
    serial: str = Field(default="", max_length=1024)
    sip_user: str = Field(default="", max_length=1024)
    cell_id: str = Field(default="", max_length=1024)
    meid: str = Field(default="", max_length=1024)

    def entry(self) -> dict[str, Any]:
        """The inventory entry as the --devices file would hold it (empty fields left out)."""
        entry: dict[str, Any] = {"name": self.name.strip(), "kind": self.kind.strip()}
        for key in FORM_FIELDS:
            values = [value for value in _SPLIT.split(getattr(self, key)) if value]
            if values:
                entry[key] = values
        return entry


DeviceKey = tuple[int, int, int, int, str]  # DeviceRow.sort_key: worst first, and a page's cursor


@dataclass
class DeviceRow:
    name: str
    kind: str
    in_inventory: bool
    status: str = "not analysed"
    policies: list[str] = field(default_factory=list)  # the policies that gave `status`
    leaks_high: int = 0
    leaks_low: int = 0
    countries: list[str] = field(default_factory=list)
    last_seen: str | None = None
    run_id: int | None = None

    def sort_key(self) -> DeviceKey:
        violation = 0 if self.status == "violation" else 1
        return (violation, -self.leaks_high, STATUS_RANK[self.status], -self.leaks_low, self.name)


@dataclass
class CountryBar:
    code: str  # alpha-2, "unknown" (public, no country) or "local" (LAN, loopback, ...)
    label: str
    destinations: int = 0
    bytes_out: int = 0
    bytes_in: int = 0
    hosts: list[str] = field(default_factory=list)
    flagged: bool = False  # a flow there breaks a policy
    width: int = 0


@contextmanager
def _session(engine: Engine) -> Iterator[Session]:
    try:
        with session_factory(engine)() as session, session.begin():
            yield session
    except (OperationalError, ProgrammingError) as exc:
        message = f"cannot read the privacy tables ({type(exc).__name__}): run `phonewarden db upgrade`"
        raise HTTPException(503, message) from None


def mask(value: str) -> str:
    """An identifier as the evidence shows it: first and last two characters."""
    return f"{value[:2]}…{value[-2:]}" if len(value) > 4 else "…"


def when(iso: str | None) -> str:
    """A record's ISO time as the console's tables show it (UTC to the second)."""
    return iso[:19].replace("T", " ") if iso else "–"


def size(count: int) -> str:
    """Bytes for people: 812 B, 18.2 kB, 3.4 MB (the exact count is in the API's records)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


def country_label(code: str) -> str:
    if code in ("unknown", "local"):
        return {"unknown": "country unknown", "local": "local network"}[code]
    country = pycountry.countries.get(alpha_2=code)
    return f"{code} {country.name}" if country is not None else code


def worst_status(verdicts: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """The worst verdict status over all policies, and the policies that gave it."""
    if not verdicts:
        return "no verdict", []
    status = min((verdict["status"] for verdict in verdicts), key=lambda s: STATUS_RANK.get(s, 9))
    return status, [verdict["policy"] for verdict in verdicts if verdict["status"] == status]


Facts = tuple[dict[str, set[str]], dict[str, str]]  # per device: countries; the latest last_seen
_facts: dict[tuple[Any, ...], Facts] = {}  # one entry: the stored runs it was computed from, and the facts


def destination_facts(session: Session, newest: dict[str, int]) -> Facts:
    """Per device, the countries and the last-seen time of its newest run's destinations.

    The last-seen time lives in each destination's JSON record, so this reads all of them (100,000 for
    2,000 phones x 50). A stored run never changes (saved in one transaction, deleted as a whole), so the
    answer is kept until the runs change: one query for their count, highest id and newest save tells.
    """
    runs = session.execute(
        select(func.count(PrivacyRun.id), func.max(PrivacyRun.id), func.max(PrivacyRun.stored_at))
    ).one()
    key = (str(session.get_bind().engine.url), *runs)
    cached = _facts.get(key)
    if cached is not None:
        return cached
    countries: dict[str, set[str]] = defaultdict(set)
    last_seen: dict[str, str] = {}
    d = PrivacyDestination
    # A destination outside the public internet has no country (geo.py), so the column tells "public".
    last = func.max(d.record["last_seen"].as_string())
    query = select(d.device, d.run_id, d.country, last).where(d.run_id.in_(set(newest.values())))
    for device, run_id, country, seen in session.execute(query.group_by(d.device, d.run_id, d.country)):
        if newest.get(device) == run_id:
            if country:
                countries[device].add(country)
            if seen and seen > last_seen.get(device, ""):
                last_seen[device] = seen
    _facts.clear()  # only the newest state is worth keeping
    _facts[key] = (countries, last_seen)
    return countries, last_seen


def device_rows(session: Session, after: DeviceKey | None = None) -> list[DeviceRow]:
    """Every device of the inventory or of stored results (after the `after` key when given), with its
    newest run's facts, worst first.

    The database sums up each device's newest run (verdicts, leak counts, countries, last seen): 2,000
    phones with 50 destinations each are a few aggregate queries, not 100,000 JSON records in Python.
    """
    stored = {name: kind for name, kind in session.execute(select(PrivacyDevice.name, PrivacyDevice.kind))}
    newest = repository.latest_runs(session)
    runs = set(newest.values())
    verdicts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    v, leak = PrivacyVerdict, PrivacyLeak
    query: Any = select(v.device, v.run_id, v.policy, v.status).where(v.run_id.in_(runs)).order_by(v.id)
    for device, run_id, policy, status in session.execute(query):
        if newest.get(device) == run_id:
            verdicts[device].append({"policy": policy, "status": status})
    leaks: Counter[tuple[str, bool]] = Counter()
    query = select(leak.device, leak.run_id, leak.confidence == "high", func.count()).where(
        leak.run_id.in_(runs)
    )
    for device, run_id, high, count in session.execute(
        query.group_by(leak.device, leak.run_id, leak.confidence)
    ):
        if newest.get(device) == run_id:
            leaks[device, bool(high)] += int(count)
    countries, last_seen = destination_facts(session, newest)
    rows = []
    for name in sorted(set(stored) | set(newest)):
        row = DeviceRow(name, stored.get(name, ""), name in stored)
        if name in newest:
            row.status, row.policies = worst_status(verdicts[name])
            row.leaks_high, row.leaks_low = leaks[name, True], leaks[name, False]
            row.countries = sorted(countries[name])
            row.last_seen = last_seen.get(name)
            row.run_id = newest[name]
        if after is None or row.sort_key() > after:
            rows.append(row)
    return sorted(rows, key=DeviceRow.sort_key)


def _flagged_flows(
    destinations: list[dict[str, Any]], verdicts: list[dict[str, Any]]
) -> set[tuple[str, int]]:
    """The (address, port) flows a violation verdict lists whose country is certain: they broke it."""
    certain = {
        (d["address"], d["port"]) for d in destinations if d.get("country") and not d.get("country_uncertain")
    }
    listed = {(f["address"], f["port"]) for v in verdicts if v["status"] == "violation" for f in v["flows"]}
    return listed & certain


def country_bars(destinations: list[dict[str, Any]], verdicts: list[dict[str, Any]]) -> list[CountryBar]:
    """Destinations grouped by country, most bytes sent first; bar widths relative to the largest."""
    flagged = _flagged_flows(destinations, verdicts)
    bars: dict[str, CountryBar] = {}
    for dest in destinations:
        local = dest.get("scope", "public") != "public"
        code = "local" if local else dest.get("country") or "unknown"
        bar = bars.get(code) or bars.setdefault(code, CountryBar(code, country_label(code)))
        bar.destinations += 1
        bar.bytes_out += int(dest.get("bytes_out", 0))
        bar.bytes_in += int(dest.get("bytes_in", 0))
        host = dest.get("host") or dest["address"]
        if host not in bar.hosts:
            bar.hosts.append(host)
        bar.flagged |= (dest["address"], dest["port"]) in flagged
    ordered = sorted(bars.values(), key=lambda b: (-b.bytes_out, -b.destinations, b.code))
    largest = max((bar.bytes_out for bar in ordered), default=0)
    for bar in ordered:
        # A country that got nothing but a handshake still shows as a sliver.
        bar.width = max(2, round(BAR_WIDTH * bar.bytes_out / largest)) if largest else 2
    return ordered


def _can_change(principal: Principal) -> bool:
    return principal.role.allows(Role.OPERATOR)


Cursor = Annotated[str, Query(max_length=MAX_CURSOR, description="the next-page cursor from a link")]


def devices_cursor(text: str) -> DeviceKey | None:
    """The sort key a next-page link carried; 422 naming the parameter when it is not one."""
    key = page_key(text, "/privacy/devices", (int, int, int, int, str))
    return None if key is None else (key[0], key[1], key[2], key[3], key[4])


@router.get("/devices", response_class=HTMLResponse)
def devices_page(request: Request, principal: Viewer, before: Cursor = "") -> HTMLResponse:
    after = devices_cursor(before)
    with _session(context(request).engine) as session:
        rows = device_rows(session, after)
    shown = rows[:PAGE_SIZE]
    following = encode_cursor(shown[-1].sort_key()) if len(rows) > PAGE_SIZE else ""
    page = {
        "rows": shown,
        "when": when,
        "first": after is None,
        "next": f"/privacy/devices?{urlencode({'before': following})}" if following else "",
    }
    return render(request, "privacy/devices.html", page, principal=principal)


@router.get("/devices/{name:path}", response_class=HTMLResponse)
def device_page(request: Request, name: str, principal: Viewer) -> HTMLResponse:
    with _session(context(request).engine) as session:
        stored = repository.get_device(session, name)
        found = repository.latest_results(session, name).get(name)
        if stored is None and found is None:
            raise HTTPException(404, f"no device named {name!r} in the inventory or in stored results")
        run = None
        if found is not None:
            run = {"id": found.run.id, "source": found.run.source, "stored_at": found.run.stored_at,
                   "frames": found.run.frames, "policies": found.run.policies}  # fmt: skip
        kind = stored.kind if stored is not None else ""
        identifiers = sorted(stored.identifiers) if stored is not None else []
    destinations = found.destinations if found else []
    verdicts = found.verdicts if found else []
    shown = sorted(destinations, key=lambda d: (-int(d.get("bytes_out", 0)), d["address"], d["port"]))
    page = {
        "name": name,
        "kind": kind,
        "in_inventory": stored is not None,
        "identifiers": identifiers,
        "run": run,
        "bars": country_bars(destinations, verdicts),
        "bar_width": BAR_WIDTH,
        "destinations": shown[:MAX_DESTINATIONS],
        "more_destinations": max(0, len(shown) - MAX_DESTINATIONS),
        "leaks": found.leaks if found else [],
        "verdicts": verdicts,
        "identifier_names": IDENTIFIER_NAMES,
        "encoding_names": ENCODING_NAMES,
        "when": when,
        "size": size,
    }
    return render(request, "privacy/device.html", page, principal=principal)


def _inventory_page(
    request: Request,
    principal: Principal,
    *,
    error: str = "",
    form: DeviceForm | None = None,
    status: int = 200,
) -> HTMLResponse:
    with _session(context(request).engine) as session:
        entries = [repository.as_device(row) for row in repository.list_devices(session)]
    page = {
        "entries": entries,
        "mask": mask,
        "can_change": _can_change(principal),
        "form": form or DeviceForm(),
        "fields": FORM_FIELDS,
        "error": error,
        "added": request.query_params.get("added", ""),
        "removed": request.query_params.get("removed", ""),
    }
    return render(request, "privacy/inventory.html", page, principal=principal, status=status)


@router.get("/inventory", response_class=HTMLResponse)
def inventory_page(request: Request, principal: Viewer) -> HTMLResponse:
    return _inventory_page(request, principal)


@router.post("/inventory/add")
def add_device(request: Request, principal: Operator, form: Annotated[DeviceForm, Form()]) -> Response:
    actor, audit = actor_of(request, principal), context(request).accounts.audit
    entry = form.entry()
    target = entry["name"] or "(no name)"
    try:
        with _session(context(request).engine) as session:
            repository.add_device(session, entry, "new device")
    except InventoryError as exc:
        audit(actor, "privacy.device_add", target, outcome="failed")
        status = 409 if isinstance(exc, repository.InventoryConflict) else 422
        return _inventory_page(request, principal, error=str(exc), form=form, status=status)
    audit(actor, "privacy.device_add", target, fields=sorted(entry))  # which fields, not their values
    return RedirectResponse(f"/privacy/inventory?added={quote(target)}", status_code=303)


@router.post("/inventory/remove")
def remove_device(
    request: Request, principal: Operator, name: Annotated[str, Form(min_length=1, max_length=255)]
) -> Response:
    with _session(context(request).engine) as session:
        removed = repository.remove_device(session, name)
    outcome = "ok" if removed else "failed"
    context(request).accounts.audit(
        actor_of(request, principal), "privacy.device_remove", name, outcome=outcome
    )
    if not removed:
        raise HTTPException(404, f"no device named {name!r} in the inventory")
    return RedirectResponse(f"/privacy/inventory?removed={quote(name)}", status_code=303)
