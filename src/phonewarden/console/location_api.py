"""`GET /api/v1/location?ip=ADDR`: the emergency location of a phone, for the PBX.

JSON by default; a PIDF-LO document (RFC 4119 with an RFC 5139 civicAddress, method "Manual") for
`Accept: application/pidf+xml` or `?format=pidf`, ready for a SIP body referenced by a Geolocation
header (RFC 6442). The console's API middleware lets in viewer tokens only (see docs/console.md).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from phonewarden.console.auth import context
from phonewarden.console.locations import IPAddress, Location, LocationError, LocationStore, parse_ip

router = APIRouter(prefix="/api/v1/location", tags=["location"])
PIDF_TYPE = "application/pidf+xml"
PIDF = "urn:ietf:params:xml:ns:pidf"
GEOPRIV = "urn:ietf:params:xml:ns:pidf:geopriv10"
CIVIC = "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"
ET.register_namespace("gp", GEOPRIV)
ET.register_namespace("ca", CIVIC)


def store_of(request: Request) -> LocationStore:
    """One store per app, so its in-memory lookup table lives as long as the console."""
    store = getattr(request.app.state, "locations", None)
    if not isinstance(store, LocationStore):
        store = request.app.state.locations = LocationStore(context(request).engine)
    return store


def pidf_lo(location: Location, address: IPAddress, now: datetime) -> bytes:
    """A PIDF-LO presence document: one tuple whose status carries the civic address."""
    host = f"[{address}]" if address.version == 6 else str(address)
    # PIDF is the default namespace, as in the RFC examples: plain tags plus an xmlns attribute (ElementTree
    # refuses default_namespace when attributes are unqualified).
    presence = ET.Element("presence", xmlns=PIDF, entity=f"pres:phone@{host}")
    tuple_ = ET.SubElement(presence, "tuple", id="emergency-location")
    geopriv = ET.SubElement(ET.SubElement(tuple_, "status"), f"{{{GEOPRIV}}}geopriv")
    civic = ET.SubElement(ET.SubElement(geopriv, f"{{{GEOPRIV}}}location-info"), f"{{{CIVIC}}}civicAddress")
    for element, value in location.civic.items():  # already in the schema's order
        ET.SubElement(civic, f"{{{CIVIC}}}{element}").text = value
    ET.SubElement(geopriv, f"{{{GEOPRIV}}}usage-rules")
    ET.SubElement(geopriv, f"{{{GEOPRIV}}}method").text = "Manual"  # entered by an operator
    if location.elin:
        ET.SubElement(tuple_, "contact").text = f"tel:{location.elin}"
    ET.SubElement(tuple_, "timestamp").text = now.astimezone(UTC).isoformat(timespec="seconds")
    document: bytes = ET.tostring(presence, encoding="utf-8", xml_declaration=True)
    return document


@router.get(
    "",
    summary="Emergency location of an IP address",
    responses={
        200: {"content": {PIDF_TYPE: {}}, "description": "the location (JSON, or PIDF-LO on request)"},
        400: {"description": "ip is not an IP address"},
        404: {"description": "no location covers ip"},
    },
)
def location(
    request: Request,
    ip: Annotated[str, Query(max_length=64, description="the phone's address, IPv4 or IPv6")],
    format: Annotated[Literal["json", "pidf"] | None, Query(description="pidf: a PIDF-LO document")] = None,
) -> Response:
    try:
        address = parse_ip(ip)
    except LocationError as exc:
        raise HTTPException(400, str(exc)) from None
    found = store_of(request).lookup(address)
    if found is None:
        raise HTTPException(404, f"no location for {address}")
    wants_pidf = format == "pidf" or (format is None and PIDF_TYPE in request.headers.get("accept", ""))
    if wants_pidf:
        return Response(pidf_lo(found, address, datetime.now(UTC)), media_type=PIDF_TYPE)
    return JSONResponse({"ip": str(address), **found.to_json()})
