"""Sample privacy data for `phonewarden demo`: an inventory and one stored run, so the pages show something.

Four devices: a smartphone that sends its IMEI in base64 to a host registered in China, a desk phone that
talks only to its provisioning server in Germany, a desk phone whose vendor redirect service sits in a
cloud (uncertain) and which puts its MAC in a URL, and a DECT base station whose firmware check carries
a cell ID the inventory does not know. Addresses are from the documentation ranges (RFC 5737), so the
countries and organisations are set here, as the geo data would give them for real servers; leaks,
evidence, verdicts and the summary are made by the monitor's own functions.
"""

from __future__ import annotations

import base64
import random
from datetime import datetime, timedelta

from sqlalchemy import Engine

from phonewarden.privacy import repository
from phonewarden.privacy.findings import Destination, Leak, redacted_excerpt
from phonewarden.privacy.policy import parse_policy, verdicts
from phonewarden.privacy.service import Analysis, Summary, device_summary
from phonewarden.store.engine import session_factory

POLICIES = ["eu"]
INVENTORY = [
    {"name": "nokia-7-plus", "kind": "smartphone", "ip": "198.51.100.50", "imei": "352099001761481",
     "imsi": "460031234567898", "mac": "4c:bc:98:12:34:56"},
    {"name": "snom-d785", "kind": "desk phone", "ip": "198.51.100.61", "mac": "00:04:13:aa:bb:cc",
     "serial": "SN0004133F9A2"},
    {"name": "yealink-t54w", "kind": "desk phone", "ip": "198.51.100.62", "mac": "80:5e:c0:12:34:56"},
    {"name": "gigaset-n670", "kind": "DECT base station", "ip": "198.51.100.63", "mac": "7c:2f:80:aa:bb:cc"},
]  # fmt: skip
# device -> (host, address, port, transport, protocol, country, org, cloud?, bytes out, bytes in)
Flow = tuple[str | None, str, int, str, str, str | None, str | None, bool, int, int]
FLOWS: dict[str, list[Flow]] = {
    "nokia-7-plus": [
        ("zzhc.vnet.cn", "203.0.113.10", 80, "tcp", "http", "CN", "Chinanet", False, 1_412, 388),
        ("android.clients.example.com", "203.0.113.20", 443, "tcp", "tls", "US", "Example Cloud", True,
         18_204, 96_511),
        ("fota.example.net", "192.0.2.40", 443, "tcp", "tls", "DE", "Strato AG", False, 2_310, 41_877),
        (None, "192.0.2.99", 443, "udp", "quic", None, None, False, 4_410, 30_120),
    ],
    "snom-d785": [
        ("provisioning.example.de", "192.0.2.41", 443, "tcp", "tls", "DE", "Strato AG", False, 3_140, 12_906),
        ("sip.example.de", "192.0.2.42", 5061, "tcp", "tls", "DE", "Strato AG", False, 9_840, 8_120),
    ],
    "yealink-t54w": [
        ("rps.example.com", "203.0.113.70", 80, "tcp", "http", "US", "Example Cloud", True, 904, 1_230),
        ("sip.example.de", "192.0.2.42", 5061, "tcp", "tls", "DE", "Strato AG", False, 7_322, 6_004),
    ],
    "gigaset-n670": [
        ("update.example.org", "192.0.2.90", 80, "tcp", "http", "DE", "Strato AG", False, 466, 15_220),
    ],
}  # fmt: skip


# What three of the devices send, and what the monitor reports for it (tests run these through the engine):
# (device, address) -> (request, the identifier's bytes in it, identifier, encoding, confidence, field)
_IMEI_B64 = base64.b64encode(b"352099001761481")
REQUESTS: dict[tuple[str, str], tuple[bytes, bytes, str, str, str, str | None]] = {
    ("nokia-7-plus", "203.0.113.10"): (
        b"POST /zzhc/activate HTTP/1.1\r\nHost: zzhc.vnet.cn\r\nContent-Length: 40\r\n\r\n"
        b"ver=2&m=TA-1046&did=" + _IMEI_B64, _IMEI_B64, "imei", "base64", "high", None),
    ("yealink-t54w", "203.0.113.70"): (
        b"GET /rps/805EC0123456.cfg HTTP/1.1\r\nHost: rps.example.com\r\n\r\n",
        b"805EC0123456", "mac", "plain", "high", None),
    ("gigaset-n670", "192.0.2.90"): (
        b"GET /check?model=N670&cellid=219769344&fw=2.49 HTTP/1.1\r\nHost: update.example.org\r\n\r\n",
        b"219769344", "cell_id", "plain", "low", "cellid"),
}  # fmt: skip


def _leaks(destinations: dict[tuple[str, str], Destination]) -> list[Leak]:
    leaks = []
    for key, (request, value, identifier, encoding, confidence, field_name) in REQUESTS.items():
        dest = destinations[key]
        start = request.index(value)
        evidence = redacted_excerpt(request, start, start + len(value))
        leaks.append(Leak(dest.first_seen + 1, dest.device, identifier, encoding, confidence, dest, evidence,
                          field_name))  # fmt: skip
    return sorted(leaks, key=lambda leak: leak.time_seen)


def sample(rng: random.Random, now: datetime) -> Analysis:
    """The sample analysis: destinations over the last 24 hours, their leaks, EU verdicts, the summary."""
    start = (now - timedelta(hours=rng.uniform(20, 23))).timestamp()
    destinations: dict[tuple[str, str], Destination] = {}
    for device, flows in FLOWS.items():
        for host, address, port, transport, protocol, country, org, cloud, sent, got in flows:
            first = start + rng.uniform(0, 3_600)
            dest = Destination(
                device, transport, address, port, first, first + rng.uniform(600, 60_000), sent, got,
                max(1, sent // 700), max(1, got // 1_200), host, "dns" if host else None, protocol,
                opaque="quic" if protocol == "quic" else None, country=country, org=org, uncertain=cloud,
            )  # fmt: skip
            destinations[device, address] = dest
    leaks = _leaks(destinations)
    found = sorted(destinations.values(), key=lambda d: (d.device, d.first_seen))
    names = [str(entry["name"]) for entry in INVENTORY]
    last = max(d.last_seen for d in found)
    judged = [verdict for text in POLICIES for verdict in verdicts(parse_policy(text), found, names, last)]
    summary = Summary(
        last,
        {name: device_summary(name, found, leaks) for name in names},
        frames=rng.randint(9_000, 12_000),
        anomalies={},
        sources={"country": "demo: set by the sample, not looked up", "org": "demo: set by the sample"},
    )
    return Analysis(found, leaks, judged, [], summary)


def load(engine: Engine, rng: random.Random, now: datetime) -> str:
    """Store the sample inventory and one run made of the sample. Entries whose name or address is
    already taken are left as they are (a second `demo`, or an operator's own device)."""
    analysis = sample(rng, now)
    with session_factory(engine).begin() as session:
        for entry in INVENTORY:
            try:
                repository.add_device(session, entry, "demo inventory")
            except repository.InventoryConflict:
                continue  # add_device checks before it writes: nothing to undo
        repository.save_analysis(session, analysis, "demo", POLICIES)
    certain = sum(1 for leak in analysis.leaks if leak.confidence == "high")
    violations = sum(1 for verdict in analysis.verdicts if verdict.status == "violation")
    leaks = f"{len(analysis.leaks)} leaks ({certain} certain)"
    return f"{len(INVENTORY)} devices, {leaks}, {violations} violating the EU/EEA policy"
