"""The per-device HTML report: plain sentences a non-expert can read, with the evidence beneath.

Rendered with Jinja2 (autoescaped: hostnames and evidence come from the network). One self-contained
file: no scripts, no external resources, so it can be mailed or opened offline.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

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
COUNTRY_NAMES = {"CN": "China", "DE": "Germany", "US": "the United States", "JP": "Japan", "RU": "Russia"}

_env = Environment(loader=PackageLoader("phonewarden.privacy", "templates"), autoescape=select_autoescape())


def _day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def sentence(leak: Leak) -> str:
    dest = leak.destination
    what = IDENTIFIER_NAMES.get(leak.identifier, leak.identifier)
    how = ENCODING_NAMES.get(leak.encoding, f"hashed ({leak.encoding.upper()}, still traceable)")
    country = COUNTRY_NAMES.get(dest.country or "", dest.country or "an unknown country")
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
    return template.render(devices=devices, sources=analysis.summary.sources, iso=_day)
