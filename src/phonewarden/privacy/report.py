"""The per-device HTML report: plain sentences a non-expert can read, with the evidence beneath.

Rendered with Jinja2 (autoescaped: hostnames and evidence come from the network). One self-contained
file: no scripts, no external resources, so it can be mailed or opened offline.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pycountry
from jinja2 import Environment, PackageLoader, select_autoescape

from phonewarden.privacy.findings import Leak
from phonewarden.privacy.service import Analysis

IDENTIFIER_NAMES = {
    "imei": "IMEI (the phone's serial number)",
    "imsi": "IMSI (the SIM card's subscriber number)",
    "iccid": "ICCID (the SIM card's number)",
    "mac": "MAC address (network hardware address)",
    "msisdn": "phone number",
    "cell_id": "cell ID (reveals the location)",
    "serial": "serial number",
    "sip_user": "SIP account name",
    "meid": "MEID (CDMA serial number)",
}
ENCODING_NAMES = {
    "plain": "in plain text",
    "url": "URL-encoded",
    "base64": "in base64 (readable by anyone, not encrypted)",
    "hex": "as hexadecimal",
    "bcd": "in binary (BCD)",
    "bcd+hex": "in binary (BCD) written as hexadecimal",
    "binary": "in binary",
}
# Names for a sentence where ISO 3166 (pycountry) puts them in list order ("Congo, The Democratic Republic
# of the") or has a longer official form only. Source: ISO 3166-1 names in pycountry 26.2.16; 2026-11.
COUNTRY_NAMES = {
    "RU": "Russia", "CD": "the Democratic Republic of the Congo", "PS": "Palestine",
    "VG": "the British Virgin Islands", "VI": "the U.S. Virgin Islands", "FM": "Micronesia",
    "VA": "the Vatican", "FK": "the Falkland Islands", "SX": "Sint Maarten", "MF": "Saint Martin",
}  # fmt: skip
_NAMES_WITH_THE = ("Netherlands", "Philippines", "Bahamas", "Gambia", "Comoros", "Maldives", "Seychelles")

_env = Environment(loader=PackageLoader("phonewarden.privacy", "templates"), autoescape=select_autoescape())


def _day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def country_name(code: str | None) -> str:
    """The country as it reads in a sentence ("China", "the United States"); an unknown code as itself."""
    if not code:
        return "an unknown country"
    if code in COUNTRY_NAMES:
        return COUNTRY_NAMES[code]
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code  # not an ISO 3166 country (e.g. XK, or a registry's EU/AP region)
    name: str = getattr(country, "common_name", None) or country.name
    plural_or_union = name.startswith("United ") or name.endswith("Islands") or name.endswith(" Republic")
    return f"the {name}" if plural_or_union or name in _NAMES_WITH_THE else name


def sentence(leak: Leak) -> str:
    dest = leak.destination
    what = IDENTIFIER_NAMES.get(leak.identifier, leak.identifier)
    how = ENCODING_NAMES.get(leak.encoding, f"hashed ({leak.encoding.upper()}, still traceable)")
    country = country_name(dest.country)
    host = f" ({dest.host})" if dest.host else ""
    certainty = "" if leak.confidence == "high" else "Possibly: "
    when = _day(leak.time_seen)
    where = f"a server in {country}{host}"
    return f"{certainty}Your device {leak.device} sent its {what} {how} to {where} on {when}."


def render_report(analysis: Analysis) -> str:
    devices: list[dict[str, Any]] = []
    for name, facts in analysis.summary.devices.items():
        devices.append(
            {
                "name": name,
                "facts": facts,
                "leaks": [(sentence(leak), leak) for leak in analysis.leaks if leak.device == name],
                "verdicts": [v for v in analysis.verdicts if v.device == name],
                "destinations": [
                    d for d in analysis.destinations if d.device == name and d.scope == "public"
                ],
                "alerts": [a for a in analysis.alerts if a.device == name],
            }
        )
    template = _env.get_template("report.html.j2")
    return template.render(
        devices=devices, sources=analysis.summary.sources, iso=_day, country_name=country_name
    )
