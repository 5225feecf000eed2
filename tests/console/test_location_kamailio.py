"""The emergency location with a real PBX peer: tools/console/kamailio-emergency-location.cfg in Kamailio
(http_client, textops, textopsx) between sipp phones and a sipp next hop, against the whole console on
loopback (an operator exists, so Kamailio must send its viewer API token).

A call to 112 from 127.0.0.70 reaches the next hop with `Geolocation: <cid:ID>` and a multipart body:
the SDP offer, then an application/pidf+xml part with `Content-ID: <ID>` and the civic address of the
most specific location (floor 3, not the building). A late-offer INVITE (no body) gets the location as
its only part. A call to 112 from an address with no location, an ordinary call and a call made while
the console cannot be reached are relayed unchanged. The INVITEs are read from the next hop's own
message log (sipp -trace_msg).
"""

from __future__ import annotations

import email.parser
import email.policy
import os
import re
import shutil
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage, MIMEPart
from pathlib import Path

import httpx
import pytest

from phonewarden.console.app import create_app
from phonewarden.console.audit_log import Actor
from phonewarden.console.locations import LocationStore, location_from
from phonewarden.console.policy import Role
from phonewarden.settings import Settings
from phonewarden.store.migrate import upgrade
from tests.conftest import REPO, free_port, served
from tests.console.api_tokens import bearer

pytestmark = pytest.mark.peer

TOOLS = REPO / "tools" / "console"
HTTP_CLIENT = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules/http_client.so")
CIVIC = "{urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr}"
BUILDING = {
    "name": "hq-building", "subnet": "127.0.0.0/24", "country": "DE", "A3": "Berlin",
    "RD": "Musterstraße", "HNO": "1", "PC": "10115",
}  # fmt: skip
FLOOR_3 = BUILDING | {"name": "hq-floor-3", "subnet": "127.0.0.64/26", "FLR": "3", "ROOM": "3.14"}
PHONE_ON_FLOOR_3 = "127.0.0.70"  # in both subnets: the floor answers
PHONE_IN_LOBBY = "127.0.0.20"  # in the building's subnet only
PHONE_NOWHERE = "127.0.9.9"  # in no location's subnet


@dataclass(frozen=True)
class Console:
    base: str  # http://127.0.0.1:<port>
    token: str  # a viewer API token, the one the PBX uses

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])


@dataclass(frozen=True)
class Received:
    request_line: str
    message: EmailMessage  # SIP headers and body, parsed as MIME
    body: bytes


def require(tool: str, package: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.fail(f"{tool} is not installed: apt-get install {package} (scripts/install-debs.sh)")
    return found


@pytest.fixture
def console(clean_env: Path) -> Iterator[Console]:
    settings = Settings(data_dir=clean_env / "var")
    upgrade(settings.database_url)
    app = create_app(settings, start_hep=False)
    ctx = app.state.console
    ctx.accounts.create("alice", Role.OPERATOR, Actor("test", "127.0.0.1"))  # setup mode is over
    token = bearer(ctx, "pbx", Role.VIEWER)["authorization"].removeprefix("Bearer ")
    LocationStore(ctx.engine).add_all(
        [location_from(raw) for raw in (BUILDING, FLOOR_3)], Actor("test", "127.0.0.1")
    )
    with served(app) as url:
        yield Console(url, token)


def start_kamailio(
    api_port: int, token: str, next_hop: str, workdir: Path
) -> tuple[subprocess.Popen[bytes], int]:
    kamailio = require("kamailio", "kamailio")
    assert HTTP_CLIENT.exists(), "Kamailio http_client missing: apt-get install kamailio-utils-modules"
    sip_port = free_port(socket.SOCK_DGRAM)
    config = workdir / "kamailio.cfg"
    config.write_text(
        (TOOLS / "kamailio-emergency-location.cfg")
        .read_text()
        .format(sip_port=sip_port, api_port=api_port, next_hop=next_hop)
    )
    log = workdir / "kamailio.log"
    # -w: a core dump, should there be one, lands in workdir and not in /
    argv = [kamailio, "-f", str(config), "-DD", "-E", "-w", str(workdir), "-Y", str(workdir),
            "-P", str(workdir / "k.pid")]  # fmt: skip
    with open(log, "wb") as out:  # the child keeps its own descriptor
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=os.environ | {"PW_TOKEN": token}
        )
    for _ in range(100):  # listening once the port cannot be bound any more
        if process.poll() is not None:
            raise AssertionError(f"kamailio exited {process.returncode}:\n{log.read_text()[-3000:]}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", sip_port))
            except OSError:
                return process, sip_port
        time.sleep(0.1)
    process.terminate()
    raise AssertionError(f"kamailio did not listen on udp 127.0.0.1:{sip_port}:\n{log.read_text()[-3000:]}")


def late_offer(folder: Path) -> Path:
    """The phone's scenario with an INVITE that has no body (a late offer: the next hop's 200 has it)."""
    text = (TOOLS / "emergency-uac.xml").read_text()
    start = text.index("      Content-Type: application/sdp")
    scenario = folder / "late-offer-uac.xml"
    scenario.write_text(text[:start] + "      Content-Length: 0\n\n" + text[text.index("    ]]>", start) :])
    return scenario


def call(sipp: str, proxy_port: int, source: str, number: str, scenario: Path) -> None:
    done = subprocess.run(
        [
            sipp, f"127.0.0.1:{proxy_port}", "-sf", str(scenario), "-s", number,
            "-i", source, "-p", str(free_port(socket.SOCK_DGRAM)), "-m", "1", "-nostdin",
            "-timeout", "15s", "-timeout_error",
        ],
        capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"call from {source} to {number} failed:\n{done.stdout[-1500:]!r}"


def received_invites(message_log: Path) -> list[Received]:
    """The INVITEs in a sipp -trace_msg log, first copy of each Call-ID (retransmissions dropped)."""
    found: dict[str, Received] = {}
    for chunk in re.split(r"\n-{10,}[^\n]*\n", message_log.read_bytes().decode()):
        head, _, raw = chunk.partition(" bytes :\n\n")
        if "message received" not in head or not raw.startswith("INVITE "):
            continue
        request_line, _, rest = raw.partition("\r\n")
        message = email.parser.BytesParser(policy=email.policy.SMTP).parsebytes(rest.encode())
        assert isinstance(message, EmailMessage)
        body = rest.encode().partition(b"\r\n\r\n")[2]
        found.setdefault(str(message["Call-ID"]), Received(request_line, message, body))
    return list(found.values())


def phone_of(invite: Received) -> str:
    """The calling phone's address, from the Via it added (the proxy's Via sits above it)."""
    return str(invite.message.get_all("Via", [])[-1]).split()[1].split(":")[0]


def relay_calls(
    api_port: int, token: str, calls: list[tuple[str, str, Path]], workdir: Path
) -> tuple[dict[tuple[str, str], Received], str]:
    """Make each (phone address, number, scenario) call through Kamailio to a sipp next hop; return the
    INVITEs the next hop received, keyed by (phone, "INVITE sip:NUMBER"), and Kamailio's log."""
    sipp = require("sipp", "sip-tester")
    uas_port = free_port(socket.SOCK_DGRAM)
    message_log = workdir / "next-hop-messages.log"
    with open(workdir / "uas.out", "wb") as out:
        next_hop = subprocess.Popen(
            [
                sipp, "-sf", str(TOOLS / "emergency-uas.xml"), "-s", "gateway", "-i", "127.0.0.1",
                "-p", str(uas_port), "-m", str(len(calls)), "-nostdin", "-trace_msg",
                "-message_file", str(message_log), "-timeout", "60s", "-timeout_error",
            ],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        kamailio, proxy_port = start_kamailio(api_port, token, f"127.0.0.1:{uas_port}", workdir)
        try:
            for source, number, scenario in calls:
                call(sipp, proxy_port, source, number, scenario)
            assert next_hop.wait(timeout=30) == 0, (workdir / "uas.out").read_bytes()[-1500:]
        finally:
            kamailio.terminate()
            kamailio.wait(timeout=10)
    finally:
        if next_hop.poll() is None:
            next_hop.kill()
            next_hop.wait(timeout=10)
    kamailio_log = (workdir / "kamailio.log").read_text(errors="replace")
    invites = {(phone_of(got), got.request_line.split("@")[0]): got for got in received_invites(message_log)}
    assert len(invites) == len(calls), kamailio_log[-3000:]
    return invites, kamailio_log


def payload(part: MIMEPart) -> bytes:
    content = part.get_payload(decode=True)
    assert isinstance(content, bytes), f"{part.get_content_type()} part has no payload"
    return content


def civic_address(invite: Received, kamailio_log: str) -> tuple[dict[str, str | None], list[str]]:
    """Check the RFC 6442 location by value; return its civic address and the body's other part types."""
    geolocation = str(invite.message["Geolocation"])
    cid = re.fullmatch(r"<cid:([^<>@\s]+@[^<>\s]+)>", geolocation)
    assert cid, f"Geolocation {geolocation!r}; kamailio log:\n{kamailio_log[-3000:]}"
    assert invite.message["Geolocation-Routing"] == "yes"
    assert invite.message.get_content_type() == "multipart/mixed"
    parts = list(invite.message.iter_parts())
    defects = [defect for part in (invite.message, *parts) for defect in part.defects]
    assert not defects, f"malformed multipart body: {defects}\n{invite.body.decode(errors='replace')}"
    pidf = [part for part in parts if part.get_content_type() == "application/pidf+xml"]
    assert len(pidf) == 1 and pidf[0]["Content-ID"] == f"<{cid.group(1)}>"
    root = ET.fromstring(payload(pidf[0]))
    assert root.get("entity") == f"pres:phone@{phone_of(invite)}"  # the caller's address, not the proxy's
    civic = {element.tag.removeprefix(CIVIC): element.text for element in root.iter() if CIVIC in element.tag}
    return civic, [part.get_content_type() for part in parts if part is not pidf[0]]


def test_emergency_invites_carry_the_callers_location(console: Console, tmp_path: Path) -> None:
    # The console answers nobody without the token: whatever Kamailio attaches, it got with its token.
    refused = httpx.get(f"{console.base}/api/v1/location", params={"ip": PHONE_ON_FLOOR_3})
    assert refused.status_code == 401
    early = TOOLS / "emergency-uac.xml"
    calls = [
        (PHONE_ON_FLOOR_3, "112", early),
        (PHONE_IN_LOBBY, "112", late_offer(tmp_path)),
        (PHONE_NOWHERE, "112", early),
        (PHONE_ON_FLOOR_3, "4930555", early),  # not an emergency number
    ]
    invites, kamailio_log = relay_calls(console.port, console.token, calls, tmp_path)
    assert set(invites) == {
        (PHONE_ON_FLOOR_3, "INVITE sip:112"),
        (PHONE_IN_LOBBY, "INVITE sip:112"),
        (PHONE_NOWHERE, "INVITE sip:112"),
        (PHONE_ON_FLOOR_3, "INVITE sip:4930555"),
    }, kamailio_log[-3000:]
    for got in invites.values():  # Kamailio fixed the length after changing the body
        assert int(got.message["Content-Length"]) == len(got.body)

    located = invites[(PHONE_ON_FLOOR_3, "INVITE sip:112")]
    civic, others = civic_address(located, kamailio_log)
    assert civic["country"] == "DE" and civic["A3"] == "Berlin" and civic["RD"] == "Musterstraße"
    assert civic["FLR"] == "3" and civic["ROOM"] == "3.14"  # the floor's subnet, not the building's
    assert others == ["application/sdp"]  # the offer is still there, as the first part
    offer = payload(next(located.message.iter_parts()))
    assert offer.startswith(b"v=0\r\n") and b"s=emergency call\r\n" in offer

    civic, others = civic_address(invites[(PHONE_IN_LOBBY, "INVITE sip:112")], kamailio_log)
    assert (civic["A3"], civic["HNO"], "FLR" in civic) == ("Berlin", "1", False)  # the building
    assert others == []  # late offer: the location is the only part

    for key in ((PHONE_NOWHERE, "INVITE sip:112"), (PHONE_ON_FLOOR_3, "INVITE sip:4930555")):
        plain = invites[key]
        assert "Geolocation" not in plain.message, key
        assert plain.message.get_content_type() == "application/sdp", key
    assert f"no emergency location for {PHONE_NOWHERE} (HTTP 404)" in kamailio_log


def test_unreachable_console_still_routes_the_emergency_call(tmp_path: Path) -> None:
    closed_port = free_port()  # nothing listens there: the lookup fails at once
    calls = [(PHONE_ON_FLOOR_3, "112", TOOLS / "emergency-uac.xml")]
    invites, kamailio_log = relay_calls(closed_port, "pwt_unused", calls, tmp_path)
    plain = invites[(PHONE_ON_FLOOR_3, "INVITE sip:112")]
    assert "Geolocation" not in plain.message
    assert plain.message.get_content_type() == "application/sdp"
    assert f"no emergency location for {PHONE_ON_FLOOR_3}: cURL error 7" in kamailio_log
