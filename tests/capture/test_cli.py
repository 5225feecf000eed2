"""`phonewarden wire dump` on real captures prints the same SIP messages that tshark sees.

The captures were made with real peers (Kamailio, sipp, SIPVicious) by tools/captures/make_captures.sh.
tshark runs in the test on the same file; a frame holding two SIP messages (TCP) gives tshark's
fields joined by the aggregator, which we split into messages.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DATA, REPO

pytestmark = pytest.mark.peer
CAPTURES = DATA / "captures"
HEP_LUA = REPO / "tools" / "captures" / "hep3.lua"
FIELDS = [
    "frame.time_epoch",
    "ip.src",
    "ipv6.src",
    "sip.Call-ID",
    "sip.CSeq.method",
    "sip.Method",
    "sip.Status-Code",
    "sip.User-Agent",
    "sip.from.user",
    "sip.to.user",
]
SEP = "\x1f"


def phonewarden_dump(capture: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = Path(sys.executable).parent / "phonewarden"
    return subprocess.run(
        [str(command), "wire", "dump", str(capture), *extra], capture_output=True, text=True, timeout=120
    )


def tshark_messages(capture: Path, hep: bool = False) -> list[dict[str, Any]]:
    tshark = shutil.which("tshark")
    assert tshark, "tshark missing: `make debs` installs it"
    argv = [
        tshark,
        "-n",
        "-r",
        str(capture),
        "-Y",
        "sip",
        "-T",
        "fields",
        "-E",
        "separator=\t",
        "-E",
        f"aggregator={SEP}",
    ]
    if hep:
        argv += ["-X", f"lua_script:{HEP_LUA}"]
    for field in FIELDS:
        argv += ["-e", field]
    output = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    messages = []
    for line in output.splitlines():
        values = dict(zip(FIELDS, line.split("\t"), strict=True))
        call_ids = values["sip.Call-ID"].split(SEP)
        for index in range(len(call_ids)):
            messages.append(
                {
                    "frame_time": Decimal(values["frame.time_epoch"]),
                    "call_id": call_ids[index],
                    "src": values["ip.src"].split(SEP)[0] or values["ipv6.src"].split(SEP)[0],
                    "cseq_method": values["sip.CSeq.method"].split(SEP)[index],
                }
            )
        # Fields absent from some messages cannot be aligned per message; compare them per frame.
        for field in ("sip.Method", "sip.Status-Code", "sip.User-Agent", "sip.from.user", "sip.to.user"):
            present = [v for v in values[field].split(SEP) if v]
            messages[-1].setdefault("frame_lists", {})[field] = present
    return messages


def our_messages(capture: Path) -> list[dict[str, Any]]:
    result = phonewarden_dump(capture, "--json", "--type", "sip")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize(
    "name",
    [
        "sip-udp.pcapng",
        "sip-tcp.pcapng",
        "sip-ipv6.pcapng",
        "sip-fragmented.pcapng",
        "sip-scan-sipvicious.pcapng",
    ],
)
def test_same_sip_messages_as_tshark(name: str) -> None:
    capture = CAPTURES / name
    theirs, ours = tshark_messages(capture), our_messages(capture)
    assert len(theirs) > 0
    assert [m["call_id"] for m in ours] == [m["call_id"] for m in theirs]
    assert [m["cseq_method"] for m in ours] == [m["cseq_method"] for m in theirs]
    assert [m["src"] for m in ours] == [m["src"] for m in theirs]
    assert [m["time"] for m in ours] == [_iso(m["frame_time"]) for m in theirs]
    _compare_frame_lists(ours, theirs)


def test_hep_capture_gives_the_inner_sip_messages() -> None:
    capture = CAPTURES / "hep-kamailio.pcapng"
    theirs, ours = tshark_messages(capture, hep=True), our_messages(capture)
    assert len(theirs) > 0
    assert [m["call_id"] for m in ours] == [m["call_id"] for m in theirs]
    assert [m["cseq_method"] for m in ours] == [m["cseq_method"] for m in theirs]
    _compare_frame_lists(ours, theirs)
    assert {m["hep"]["capture_id"] for m in ours} == {2001}
    assert all(m["hep"]["version"] == 3 for m in ours)


def test_fragmented_invite_is_reassembled() -> None:
    ours = our_messages(CAPTURES / "sip-fragmented.pcapng")
    invites = [m for m in ours if m.get("method") == "INVITE" and m["is_request"]]
    assert invites and all(m["content_length"] > 1500 for m in invites)
    assert all("body-truncated" not in m["anomalies"] for m in invites)


def test_human_output_and_summary() -> None:
    result = phonewarden_dump(CAPTURES / "sip-udp.pcapng")
    assert result.returncode == 0
    assert "REGISTER sip:" in result.stdout
    assert "frames:" in result.stderr and "sip" in result.stderr


def test_not_a_capture_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "calls.csv"
    bogus.write_text("not,a,capture\n")
    result = phonewarden_dump(bogus)
    assert result.returncode == 2
    assert "calls.csv" in result.stderr and "not a pcap or pcapng" in result.stderr


def _iso(epoch: Decimal) -> str:
    from phonewarden.core.records import iso_time

    return iso_time(float(epoch))


def _compare_frame_lists(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> None:
    """Per tshark frame, the methods/statuses/UAs/users of its messages equal ours for the same messages."""
    position = 0
    for index, message in enumerate(theirs):
        if "frame_lists" not in message:
            continue  # not the last message of its frame
        group = ours[position : index + 1]
        position = index + 1
        lists = message["frame_lists"]
        assert [m["method"] for m in group if m["is_request"]] == lists["sip.Method"], group
        assert [str(m["status"]) for m in group if not m["is_request"]] == lists["sip.Status-Code"]
        assert [m["user_agent"] for m in group if m.get("user_agent")] == lists["sip.User-Agent"]
        assert [m["from_user"] for m in group if m.get("from_user")] == lists["sip.from.user"]
        assert [m["to_user"] for m in group if m.get("to_user")] == lists["sip.to.user"]


def test_dns_tls_http_records_match_tshark() -> None:
    capture = CAPTURES / "mixed-dns-tls-http.pcapng"
    tshark = shutil.which("tshark")
    assert tshark, "tshark missing: `make debs` installs it"
    fields = [
        "frame.time_epoch",
        "dns.qry.name",
        "dns.a",
        "tls.handshake.extensions_server_name",
        "http.request.method",
        "http.host",
        "http.content_length_header",
    ]
    argv = [
        tshark,
        "-n",
        "-r",
        str(capture),
        "-Y",
        "dns or tls.handshake.type == 1 or http.request",
        "-T",
        "fields",
        "-E",
        "separator=\t",
    ]
    for field in fields:
        argv += ["-e", field]
    rows = [
        dict(zip(fields, line.split("\t"), strict=True))
        for line in subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines()
    ]
    result = phonewarden_dump(capture, "--json")
    assert result.returncode == 0, result.stderr
    ours = [json.loads(line) for line in result.stdout.splitlines()]
    assert [m["time"] for m in ours] == [_iso(Decimal(row["frame.time_epoch"])) for row in rows]
    for mine, row in zip(ours, rows, strict=True):
        if mine["type"] == "dns":
            assert mine["qname"] == row["dns.qry.name"]
            addresses = [a["data"] for a in mine["answers"] if a["type"] == "A"]
            assert ",".join(addresses) == row["dns.a"]
        elif mine["type"] == "tls":
            assert mine["sni"] == row["tls.handshake.extensions_server_name"]
        else:
            assert mine["type"] == "http"
            assert (mine["method"], mine["host"]) == (row["http.request.method"], row["http.host"])
            assert str(mine["body_length"]) == row["http.content_length_header"]
            assert "356938035643809" in mine["body_preview"]
