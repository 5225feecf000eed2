"""The documented Kamailio authorize snippet with real Kamailio (http_client) and sipp against the whole
console (an operator exists, PBX tokens are set; Kamailio sends its token): a restricted
account's INVITE to Somalia gets 403, the same INVITE from another account passes (488 in this config)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.fraud.console_server import Console, console_with_pbx_tokens

TOOLS = Path(__file__).resolve().parents[2] / "tools" / "fraud"
MODULE = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules/http_client.so")


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    with console_with_pbx_tokens(tmp_path / "var", restricted="hacked") as running:
        yield running


def _invite(
    sipp: str, sip_port: int, account: str, expected: int, folder: Path
) -> subprocess.CompletedProcess[bytes]:
    scenario = folder / f"invite-{account}.xml"
    scenario.write_text((TOOLS / "invite.xml").read_text().replace("EXPECTED", str(expected)))
    accounts = folder / f"{account}.csv"
    accounts.write_text(f"SEQUENTIAL\n{account};\n")
    return subprocess.run(
        [
            sipp,
            f"127.0.0.1:{sip_port}",
            "-sf",
            str(scenario),
            "-inf",
            str(accounts),
            "-s",
            "0025261234567",
            "-i",
            "127.0.0.1",
            "-p",
            str(free_port(socket.SOCK_DGRAM)),
            "-m",
            "1",
            "-nostdin",
            "-timeout",
            "15s",
            "-timeout_error",
        ],
        capture_output=True,
        timeout=30,
        check=False,
    )


@pytest.mark.peer
def test_kamailio_asks_authorize_before_routing(console: Console, tmp_path: Path) -> None:
    kamailio, sipp = shutil.which("kamailio"), shutil.which("sipp")
    assert kamailio and sipp, (
        "kamailio and sipp: apt-get install kamailio sip-tester (scripts/install-debs.sh)"
    )
    assert MODULE.exists(), "Kamailio http_client missing: apt-get install kamailio-utils-modules"
    sip_port = free_port(socket.SOCK_DGRAM)
    config = tmp_path / "kamailio.cfg"
    config.write_text(
        (TOOLS / "kamailio-authorize.cfg")
        .read_text()
        .format(sip_port=sip_port, api_port=console.base.rsplit(":", 1)[1], pbx_token=console.token)
    )
    process = subprocess.Popen(
        [kamailio, "-f", str(config), "-DD", "-E", "-Y", str(tmp_path), "-P", str(tmp_path / "k.pid")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(1.0)
        assert process.poll() is None, process.stderr.read().decode()[-2000:] if process.stderr else ""
        denied = _invite(sipp, sip_port, "hacked", 403, tmp_path)
        assert denied.returncode == 0, denied.stdout[-1500:]
        allowed = _invite(sipp, sip_port, "honest", 488, tmp_path)
        assert allowed.returncode == 0, allowed.stdout[-1500:]
        wrong = _invite(sipp, sip_port, "hacked", 488, tmp_path)  # guards the two above: they can fail
        assert wrong.returncode != 0
    finally:
        process.terminate()
        process.wait(timeout=10)
