"""The Kamailio proof: credentials rendered for a phone register on a real Kamailio; after `retire` the old
password is refused (403) and the new one registers. Passwords reach Kamailio only through
`KamailioCredentials` (jsonrpcs over xhttp into the registrar's htable), as in production."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from phonewarden.provisioning import render
from phonewarden.provisioning.inventory import Inventory
from phonewarden.provisioning.kamailio import KamailioCredentials, KamailioError
from phonewarden.provisioning.secrets_box import SecretBox
from phonewarden.provisioning.settings import ProvisioningSettings
from tests.conftest import REPO, free_port

TOOLS = REPO / "tools" / "provisioning"
MAC = "0015654c4c26"


def need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is missing: apt-get install {package}")
    return path


class Kamailio:
    def __init__(self, folder: Path) -> None:
        binary = need("kamailio", "kamailio (its xhttp and jsonrpcs modules)")
        self.sip_port, self.rpc_port = free_port(socket.SOCK_DGRAM), free_port()
        self.log = folder / "kamailio.log"
        self.process = subprocess.Popen(
            [binary, "-f", str(TOOLS / "kamailio.cfg"), "-DD", "-E", "-w", str(folder), "-Y", str(folder),
             "-l", f"udp:127.0.0.1:{self.sip_port}", "-l", f"tcp:127.0.0.1:{self.rpc_port}"],
            stdout=subprocess.DEVNULL, stderr=self.log.open("wb"),
        )  # fmt: skip
        self.rpc_url = f"http://127.0.0.1:{self.rpc_port}/RPC"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"kamailio exited: {self.log.read_text()[-2000:]}"
            try:
                KamailioCredentials(self.rpc_url, timeout=1).delete("probe")
                return
            except KamailioError as exc:
                if "Connection refused" not in str(exc) and "timed out" not in str(exc):
                    return  # it answers (an error for the missing key is an answer)
            time.sleep(0.1)
        raise AssertionError(f"kamailio did not answer JSON-RPC: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


@pytest.fixture
def kamailio(tmp_path: Path) -> Iterator[Kamailio]:
    running = Kamailio(tmp_path)
    yield running
    running.stop()


def register(kam: Kamailio, folder: Path, user: str, password: str) -> int:
    """Final SIP status a sipp phone gets for REGISTER with `user`/`password` (0 = no answer)."""
    sipp = need("sipp", "sip-tester")
    trace = folder / f"sipp-{time.monotonic_ns()}.log"
    subprocess.run(
        [sipp, f"127.0.0.1:{kam.sip_port}", "-sf", str(TOOLS / "register.xml"), "-s", user, "-au", user,
         "-ap", password, "-m", "1", "-i", "127.0.0.1", "-p", str(free_port(socket.SOCK_DGRAM)),
         "-timeout", "10", "-nostdin", "-trace_msg", "-message_file", str(trace)],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20, check=False,
    )  # fmt: skip
    statuses = re.findall(r"^SIP/2\.0 (\d{3})", trace.read_text() if trace.exists() else "", re.M)
    return int(statuses[-1]) if statuses else 0


def sip_password(inventory: Inventory, mac: str) -> str:
    """The SIP password as the phone receives it: parsed from the rendered config file."""
    found = inventory.for_gate(mac)
    assert found is not None
    text = render.render_device(found[1])
    match = re.search(r"^account\.1\.password = (\S+)$", text, re.M)
    assert match, text
    return match.group(1)


@pytest.mark.peer
def test_a_retired_phones_old_password_no_longer_registers_but_the_new_one_does(
    kamailio: Kamailio, tmp_path: Path, sqlite_engine: Engine, prov_settings: ProvisioningSettings
) -> None:
    assert prov_settings.encryption_key
    pbx = KamailioCredentials(kamailio.rpc_url)
    inv = Inventory(sqlite_engine, SecretBox(prov_settings.encryption_key.encode()), prov_settings, pbx)
    inv.add_site("hq")
    inv.add_device(MAC, "yealink", "T46S", "hq", "alice", [("2001", "Alice")])
    old = sip_password(inv, MAC)
    assert register(kamailio, tmp_path, "2001", old) == 200
    inv.retire(MAC, "returned")
    new = sip_password(inv, MAC)
    assert new != old
    assert register(kamailio, tmp_path, "2001", old) == 403
    assert register(kamailio, tmp_path, "2001", new) == 200


@pytest.mark.peer
def test_kamailio_refusal_and_deletion_are_reported(kamailio: Kamailio, tmp_path: Path) -> None:
    pbx = KamailioCredentials(kamailio.rpc_url)
    pbx.set("3001", "Pass-word-123")
    assert register(kamailio, tmp_path, "3001", "Pass-word-123") == 200
    pbx.delete("3001")
    assert register(kamailio, tmp_path, "3001", "Pass-word-123") == 404  # unknown user now
    with pytest.raises(KamailioError, match=r"htable\.sets"):
        KamailioCredentials(kamailio.rpc_url, htable="nosuchtable").set("3001", "x")


def test_kamailio_url_must_be_https_or_loopback_and_a_dead_one_is_named() -> None:
    with pytest.raises(ValueError, match="kamailio_rpc_url"):
        KamailioCredentials("http://192.0.2.1:5071/RPC")
    dead = f"http://127.0.0.1:{free_port()}/RPC"
    with pytest.raises(KamailioError, match=re.escape(dead)):
        KamailioCredentials(dead, timeout=2).set("2001", "x")
