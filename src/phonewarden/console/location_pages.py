"""/locations: the emergency locations per subnet, and which one answers for an address.

GET  /locations            the list (viewer) and a "test an address" form (`?ip=ADDR`)
POST /locations            add one (operator, CSRF), audited as "location.add"
POST /locations/remove     remove one by name (operator, CSRF), audited as "location.remove"
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from phonewarden.console.auth import Operator, Viewer, actor_of
from phonewarden.console.location_api import store_of
from phonewarden.console.locations import CIVIC_FIELDS, LocationError, location_from, parse_ip
from phonewarden.console.policy import Role
from phonewarden.console.sessions import Principal
from phonewarden.console.shell import render

router = APIRouter(include_in_schema=False)
FORM_FIELDS = ["name", "subnet", *(f.element for f in CIVIC_FIELDS), "elin", "note"]


def _page(request: Request, principal: Principal, *, status: int = 200, **extra: Any) -> HTMLResponse:
    page = {
        "rows": store_of(request).all(),
        "civic_fields": CIVIC_FIELDS,
        "can_change": principal.role.allows(Role.OPERATOR),
        "form": {},
        **extra,
    }
    return render(request, "locations.html", page, principal=principal, status=status)


@router.get("/locations", response_class=HTMLResponse)
def locations_page(
    request: Request, principal: Viewer, ip: Annotated[str | None, Query(max_length=64)] = None
) -> HTMLResponse:
    tested: dict[str, Any] = {}
    if ip:
        try:
            address = parse_ip(ip)
        except LocationError as exc:
            return _page(request, principal, status=400, error=str(exc), tested={"ip": ip})
        tested = {"ip": str(address), "location": store_of(request).lookup(address)}
    return _page(request, principal, tested=tested, added=request.query_params.get("added", ""))


@router.post("/locations", response_class=HTMLResponse)
async def add(request: Request, principal: Operator) -> Response:
    form = await request.form()
    given = {key: str(form.get(key, "")) for key in FORM_FIELDS}
    try:
        location = location_from(given)
        store_of(request).add(location, actor_of(request, principal))
    except LocationError as exc:
        return _page(request, principal, status=400, error=str(exc), form=given)
    return RedirectResponse(f"/locations?added={location.name}", status_code=303)


@router.post("/locations/remove")
def remove(
    request: Request, principal: Operator, name: Annotated[str, Form(min_length=1, max_length=64)]
) -> Response:
    if not store_of(request).remove(name, actor_of(request, principal)):
        return _page(request, principal, status=404, error=f"no location named {name!r}")
    return RedirectResponse("/locations", status_code=303)
