"""The HEP listener with a real HEP agent: Kamailio's siptrace mirrors SIP that sipp sends it."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from phonewarden.capture.hep_listener import HepListener
from phonewarden.settings import HepSettings
from tests.conftest import REPO, free_port, free_udp_and_tcp_port, hep_sip_packet

KAMAILIO_CFG = """#!KAMAILIO
debug=1
log_stderror=yes
children=1
tcp_children=1
auto_aliases=no
listen=udp:127.0.0.1:{sip_port}
alias="pbx.example.test"
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "textops.so"
loadmodule "siptrace.so"
modparam("siptrace", "duplicate_uri", "sip:127.0.0.1:{hep_port}")
modparam("siptrace", "hep_mode_on", 1)
modparam("siptrace", "hep_version", 3)
modparam("siptrace", "hep_capture_id", 2042)
modparam("siptrace", "trace_on", 1)
modparam("siptrace", "trace_to_database", 0)
modparam("siptrace", "trace_mode", 1)
request_route {{
    if (is_method("OPTIONS")) {{ sl_send_reply("200", "OK"); exit; }}
    sl_send_reply("404", "Not here");
}}
"""

OPTIONS_PROBE = (
    "OPTIONS sip:pbx.example.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-probe{n}\r\n"
    "From: <sip:probe@pbx.example.test>;tag=p\r\nTo: <sip:pbx.example.test>\r\nCall-ID: probe-{n}\r\n"
    "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
)


def _wait_until_answering(sip_port: int, process: subprocess.Popen[bytes]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        probe.settimeout(0.2)
        for attempt in range(50):
            assert process.poll() is None, (
                "kamailio exited: " + (process.stderr.read() or b"").decode()[-2000:]
            )
            probe.sendto(
                OPTIONS_PROBE.format(port=probe.getsockname()[1], n=attempt).encode(), ("127.0.0.1", sip_port)
            )
            try:
                probe.recv(4096)
                return
            except TimeoutError:
                continue
    raise AssertionError("kamailio did not answer OPTIONS")


@pytest.mark.peer
def test_sip_traced_by_kamailio_arrives_as_records(tmp_path: Path) -> None:
    kamailio, sipp = shutil.which("kamailio"), shutil.which("sipp")
    assert kamailio and sipp, "kamailio and sipp are installed by `make debs`"
    sip_port, hep_port, sipp_port = (
        free_port(socket.SOCK_DGRAM),
        free_udp_and_tcp_port(),
        free_port(socket.SOCK_DGRAM),
    )
    config = tmp_path / "kamailio.cfg"
    config.write_text(KAMAILIO_CFG.format(sip_port=sip_port, hep_port=hep_port))
    records: list[Any] = []

    async def scenario() -> None:
        listener = HepListener(HepSettings(port=hep_port), on_record=records.append)
        await listener.start()
        process = subprocess.Popen(
            [kamailio, "-f", str(config), "-DD", "-E", "-Y", str(tmp_path), "-P", str(tmp_path / "k.pid")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            await asyncio.to_thread(_wait_until_answering, sip_port, process)
            result = await asyncio.to_thread(
                subprocess.run,
                [
                    sipp,
                    f"127.0.0.1:{sip_port}",
                    "-sf",
                    str(REPO / "tools/captures/options.xml"),
                    "-s",
                    "carol",
                    "-i",
                    "127.0.0.1",
                    "-p",
                    str(sipp_port),
                    "-m",
                    "2",
                    "-cid_str",
                    "sipp-hep-%u@%s",
                    "-nostdin",
                    "-timeout",
                    "15s",
                    "-timeout_error",
                ],
                capture_output=True,
                timeout=30,
            )
            assert result.returncode == 0, result.stdout[-2000:]
            deadline = time.monotonic() + 5
            while (
                time.monotonic() < deadline and sum("sipp-hep" in (r.body.call_id or "") for r in records) < 4
            ):
                await asyncio.sleep(0.05)
        finally:
            process.terminate()
            process.wait(timeout=10)
            await listener.stop()

    asyncio.run(scenario())
    traced = [record for record in records if (record.body.call_id or "").startswith("sipp-hep")]
    requests = [r for r in traced if r.body.is_request]
    replies = [r for r in traced if not r.body.is_request]
    assert len(requests) == 2 and len(replies) == 2
    assert {r.body.method for r in traced} == {"OPTIONS"}
    assert {r.body.status for r in replies} == {200}
    assert all(r.hep.capture_id == 2042 and r.hep.version == 3 for r in traced)
    assert all((r.segment.src, r.segment.sport) == ("127.0.0.1", sipp_port) for r in requests)
    assert all((r.segment.dst, r.segment.dport) == ("127.0.0.1", sip_port) for r in requests)
    assert all(r.hep_agent == "127.0.0.1" for r in traced)
    assert requests[0].body.user_agent == "phonewarden-lab-phone/1.0 (sipp)"


def test_auth_key_mismatch_and_oversize_are_dropped_and_counted() -> None:
    port = free_udp_and_tcp_port()
    records: list[Any] = []
    payload = OPTIONS_PROBE.format(port=5060, n=1).encode()

    def packet(auth_key: str | None, body: bytes = payload) -> bytes:
        return hep_sip_packet(body, auth_key=auth_key, time=1_700_000_000.0)

    async def scenario() -> dict[str, Any]:
        listener = HepListener(
            HepSettings(port=port, auth_key="s3cret", max_packet_bytes=1024), on_record=records.append
        )
        await listener.start()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for datagram in (packet("s3cret"), packet("wrong"), packet(None), packet("s3cret", payload * 5)):
                sender.sendto(datagram, ("127.0.0.1", port))
        for _ in range(100):
            if listener.counts["packets"] >= 4:
                break
            await asyncio.sleep(0.02)
        await listener.stop()
        return listener.stats()

    stats = asyncio.run(scenario())
    assert len(records) == 1 and records[0].segment.src == "198.51.100.7"
    assert stats["counts"]["dropped-auth-key"] == 2
    assert stats["counts"]["dropped-oversize"] == 1
    assert stats["dropped"] == 3
